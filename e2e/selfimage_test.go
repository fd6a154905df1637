package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// selfImageVersion is the version hack/image-context.sh stamps into the
// binary under test.
const selfImageVersion = "v0.0.0-selfimage-e2e"

// selfImageContext runs hack/image-context.sh into a fresh directory: the
// build context of the top-level Dockerfile, with the bed's busybox for the
// debug target.
func selfImageContext(t *testing.T, b testbed) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), filepath.Join("..", "hack", "image-context.sh"), dir)
	cmd.Env = append(e2etest.CleanEnv(nil), "HALLMARK_VERSION="+selfImageVersion, "HALLMARK_BUSYBOX="+b.Getenv("HALLMARK_TEST_BUSYBOX"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/image-context.sh: %v\n%s", err, out)
	}
	return dir
}

// buildSelfImage builds the Dockerfile's target ("" for the default) from
// contextDir, pushes it and returns the image pulled by the printed digest.
func buildSelfImage(t *testing.T, b testbed, contextDir, target string) v1.Image {
	t.Helper()
	repo := uniqueRepo(t, b.PlainRegistry())
	args := []string{"build", "--progress", "plain", "--addr", b.BuildkitUnix(), "--insecure-registry", b.PlainRegistry(),
		"-f", filepath.Join("..", "Dockerfile"), "--tag", repo + ":e2e"}
	if target != "" {
		args = append(args, "--target", target)
	}
	r := hallmark(t, nil, append(args, contextDir)...)
	mustSucceed(t, r)
	line := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(line, repo+"@sha256:") || strings.Contains(line, "\n") {
		t.Fatalf("stdout = %q, want one line %s@sha256:...", r.Stdout, repo)
	}
	ref, err := name.NewDigest(line, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	return img
}

// imageEntry is one path of an image's flattened filesystem.
type imageEntry struct {
	hdr     *tar.Header
	content []byte // regular files only
}

func imageEntries(t *testing.T, img v1.Image) map[string]imageEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]imageEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		e := imageEntry{hdr: h}
		if h.Typeflag == tar.TypeReg {
			if e.content, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")] = e
	}
}

func imageConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSelfImage builds hallmark's own image with hallmark on the bed, as a
// release of hallmark would: hack/image-context.sh prepares the context,
// `hallmark build -f Dockerfile` builds and pushes it offline. Pulled by the
// printed digest, the default image holds exactly the static binary (built
// -trimpath, stripped, version stamped; it runs), the CA bundle and the
// passwd/group entries, runs as 65532 with hallmark as entrypoint, and has
// no shell; the debug target adds busybox and /bin/sh.
func TestSelfImage(t *testing.T) {
	b := bed(t)
	contextDir := selfImageContext(t, b)

	t.Run("default", func(t *testing.T) {
		img := buildSelfImage(t, b, contextDir, "")
		cfg := imageConfig(t, img)
		if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
			t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
		}
		c := cfg.Config
		if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/hallmark"}) || len(c.Cmd) != 0 {
			t.Errorf("entrypoint %q cmd %q, want [/usr/local/bin/hallmark] and no cmd", c.Entrypoint, c.Cmd)
		}
		if c.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532", c.User)
		}
		if !slices.Contains(c.Env, "HOME=/home/nonroot") {
			t.Errorf("env %q lacks HOME=/home/nonroot", c.Env)
		}
		if c.Labels["org.opencontainers.image.source"] != "https://github.com/hallmark-dev/hallmark" {
			t.Errorf("labels %v lack org.opencontainers.image.source", c.Labels)
		}

		files := imageEntries(t, img)
		var regular []string
		for p, e := range files {
			if e.hdr.Typeflag == tar.TypeReg {
				regular = append(regular, p)
			}
			if strings.Contains(p, "busybox") || p == "bin/sh" || p == "bin" {
				t.Errorf("the default image has %s: no shell wanted", p)
			}
		}
		slices.Sort(regular)
		if want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/hallmark"}; !slices.Equal(regular, want) {
			t.Errorf("regular files %v, want exactly %v", regular, want)
		}
		checkSelfImageRootfs(t, files)
		checkSelfImageBinary(t, files["usr/local/bin/hallmark"])
	})

	t.Run("debug", func(t *testing.T) {
		img := buildSelfImage(t, b, contextDir, "debug")
		c := imageConfig(t, img).Config
		if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/hallmark"}) {
			t.Errorf("entrypoint %q, want [/usr/local/bin/hallmark]", c.Entrypoint)
		}
		if c.User != "0:0" {
			t.Errorf("user %q, want 0:0 (GitLab's build directory is root's)", c.User)
		}
		if !slices.Contains(c.Env, "PATH=/usr/local/bin:/busybox") {
			t.Errorf("env %q lacks PATH=/usr/local/bin:/busybox", c.Env)
		}
		files := imageEntries(t, img)
		if e, ok := files["busybox/busybox"]; !ok || e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode&0o111 == 0 {
			t.Error("/busybox/busybox missing or not executable")
		}
		for link, target := range map[string]string{"bin/sh": "/busybox/sh", "busybox/sh": "/busybox/busybox"} {
			if e, ok := files[link]; !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != target {
				t.Errorf("/%s is not a symlink to %s", link, target)
			}
		}
		checkSelfImageRootfs(t, files)
	})
}

// checkSelfImageRootfs checks what both targets share: CA bundle, users,
// the non-root home, a world-writable sticky /tmp, the binary's mode.
func checkSelfImageRootfs(t *testing.T, files map[string]imageEntry) {
	t.Helper()
	if !x509.NewCertPool().AppendCertsFromPEM(files["etc/ssl/certs/ca-certificates.crt"].content) {
		t.Error("/etc/ssl/certs/ca-certificates.crt holds no certificate")
	}
	if !bytes.Contains(files["etc/passwd"].content, []byte("\nnonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd lacks nonroot 65532:\n%s", files["etc/passwd"].content)
	}
	if !bytes.Contains(files["etc/group"].content, []byte("nonroot:x:65532:")) {
		t.Errorf("/etc/group lacks nonroot 65532:\n%s", files["etc/group"].content)
	}
	if h := files["home/nonroot"].hdr; h == nil || h.Typeflag != tar.TypeDir || h.Uid != 65532 || h.Gid != 65532 {
		t.Errorf("/home/nonroot is not a directory owned by 65532:65532: %+v", h)
	}
	if h := files["tmp"].hdr; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp is not a sticky world-writable directory: %+v", h)
	}
	if h := files["usr/local/bin/hallmark"].hdr; h == nil || h.Mode&0o777 != 0o755 || h.Uid != 0 {
		t.Errorf("/usr/local/bin/hallmark is not root's with mode 0755: %+v", h)
	}
}

// checkSelfImageBinary checks how the binary in the image was built and
// runs it on this machine.
func checkSelfImageBinary(t *testing.T, e imageEntry) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hallmark")
	if err := os.WriteFile(bin, e.content, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: not static")
		}
	}
	// -ldflags "-s -w": no symbol table, no DWARF. (Build info omits
	// -ldflags under -trimpath; the version check below covers -X.)
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: not stripped (-s)")
	}
	if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		t.Error("the binary has DWARF: not built with -w")
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").Output()
	if err != nil {
		t.Fatalf("running the image's binary: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != selfImageVersion {
		t.Errorf("hallmark version = %q, want %q", got, selfImageVersion)
	}
}
