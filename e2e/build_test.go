package e2e

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// buildArgs are the arguments of a build of Dockerfile.test.
func buildArgs(b testbed, dockerfile, contextDir string, extra ...string) []string {
	args := []string{"build", "--progress", "plain", "-f", dockerfile,
		"--insecure-registry", b.PlainRegistry(), "--insecure-registry", b.ReferrersRegistry()}
	return append(append(args, extra...), contextDir)
}

// TestBuildPushesAndPrintsDigest builds Dockerfile.test through both
// buildkitd endpoints to both registries and checks that the printed digest
// is what the registry serves for every pushed tag.
func TestBuildPushesAndPrintsDigest(t *testing.T) {
	b := bed(t)
	endpoints := map[string][]string{
		"unix":     {"--addr", b.BuildkitUnix()},
		"tcp-mtls": b.TLSFlags(),
	}
	registries := map[string]string{"distribution": b.PlainRegistry(), "referrers": b.ReferrersRegistry()}
	for epName, ep := range endpoints {
		for regName, reg := range registries {
			t.Run(epName+"/"+regName, func(t *testing.T) {
				t.Parallel()
				ctxDir, df := buildContext(t, b)
				repo := uniqueRepo(t, reg)
				tags := []string{repo + ":abc123", repo + ":latest"}
				meta := filepath.Join(t.TempDir(), "meta.json")
				args := append(slices.Clone(ep), "--tag", tags[0], "--tag", tags[1], "--metadata-file", meta,
					"--build-arg", "GREETING=bonjour", "--label", "org.example.test=e2e", "--annotation", "org.example.ann=yes")
				r := hallmark(t, nil, buildArgs(b, df, ctxDir, args...)...)
				mustSucceed(t, r)

				lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], repo+"@sha256:") {
					t.Fatalf("stdout = %q, want exactly one line %s@sha256:...", r.Stdout, repo)
				}
				pinned, err := name.NewDigest(lines[0], name.Insecure)
				if err != nil {
					t.Fatalf("printed reference %q: %v", lines[0], err)
				}
				for _, tag := range tags {
					ref, err := name.ParseReference(tag, name.Insecure)
					if err != nil {
						t.Fatal(err)
					}
					desc, err := remote.Head(ref)
					if err != nil {
						t.Fatalf("HEAD %s: %v", tag, err)
					}
					if desc.Digest.String() != pinned.DigestStr() {
						t.Errorf("registry serves %s for %s, hallmark printed %s", desc.Digest, tag, pinned.DigestStr())
					}
				}
				if !strings.Contains(r.Stderr, "exporting") {
					t.Errorf("no BuildKit progress on stderr:\n%s", r.Stderr)
				}

				var md struct {
					Image, Digest string
					Tags          []string
				}
				readJSON(t, meta, &md)
				if md.Image != lines[0] || md.Digest != pinned.DigestStr() || !slices.Equal(md.Tags, tags) {
					t.Errorf("metadata file %+v disagrees with stdout %s and tags %v", md, lines[0], tags)
				}

				img, err := remote.Image(pinned)
				if err != nil {
					t.Fatal(err)
				}
				m, err := img.Manifest()
				if err != nil {
					t.Fatal(err)
				}
				if m.Annotations["org.example.ann"] != "yes" {
					t.Errorf("manifest annotations %v lack org.example.ann=yes", m.Annotations)
				}
				cfg, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Config.Labels["org.example.test"] != "e2e" || !slices.Contains(cfg.Config.Env, "GREETING=bonjour") {
					t.Errorf("config lacks the label or build arg: labels %v env %v", cfg.Config.Labels, cfg.Config.Env)
				}
				files := imageFiles(t, img)
				if !strings.HasPrefix(files["greeting"], "bonjour from ") {
					t.Errorf("/greeting = %q, want the build arg's greeting", files["greeting"])
				}
				if _, ok := files["ctx/hello.txt"]; !ok {
					t.Errorf("ctx/hello.txt missing from the image: %v", keys(files))
				}
				if _, ok := files["ctx/ignored.txt"]; ok {
					t.Errorf("ctx/ignored.txt is in the image although .dockerignore excludes it")
				}
			})
		}
	}
}

// TestBuildMultiPlatform checks that a two-platform build pushes an index
// whose children are the platform digests of the metadata file.
func TestBuildMultiPlatform(t *testing.T) {
	b := bed(t)
	t.Parallel()
	ctxDir, df := buildContext(t, b)
	repo := uniqueRepo(t, b.PlainRegistry())
	meta := filepath.Join(t.TempDir(), "meta.json")
	r := hallmark(t, nil, buildArgs(b, df, ctxDir, "--addr", b.BuildkitUnix(), "--tag", repo+":multi",
		"--platform", "linux/amd64,linux/386", "--metadata-file", meta)...)
	mustSucceed(t, r)
	pinned, err := name.NewDigest(strings.TrimSpace(r.Stdout), name.Insecure)
	if err != nil {
		t.Fatalf("stdout %q: %v", r.Stdout, err)
	}
	idx, err := remote.Index(pinned)
	if err != nil {
		t.Fatalf("reading index %s: %v", pinned, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS != "unknown" {
			got[m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest.String()
		}
	}
	var md struct {
		Digest    string
		Platforms []struct{ Platform, Digest string }
	}
	readJSON(t, meta, &md)
	if md.Digest != pinned.DigestStr() {
		t.Errorf("metadata digest %s, printed %s", md.Digest, pinned.DigestStr())
	}
	want := map[string]string{}
	for _, p := range md.Platforms {
		want[p.Platform] = p.Digest
	}
	if len(got) != 2 || got["linux/amd64"] == "" || got["linux/386"] == "" {
		t.Fatalf("index children %v, want linux/amd64 and linux/386", got)
	}
	for p, d := range got {
		if want[p] != d {
			t.Errorf("platform %s: index has %s, metadata file says %q", p, d, want[p])
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

// imageFiles returns the regular files of an image's flattened filesystem
// with their content.
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	files := map[string]string{}
	for path, e := range imageEntries(t, img) {
		if e.hdr.Typeflag == tar.TypeReg {
			files[path] = string(e.content)
		}
	}
	return files
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
