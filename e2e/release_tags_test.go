package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// tagDigest is the digest tag names on the registry, "" when the tag does
// not exist (HEAD answers 404).
func tagDigest(t *testing.T, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, plainOptions(t.Context())...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", tag, err)
	}
	return desc.Digest.String()
}

// allTags lists every tag of repo; none when the repository does not exist.
func allTags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, plainOptions(t.Context())...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("listing tags of %s: %v", repo, err)
	}
	return tags
}

// TestReleaseTagsOnlySigned: a release creates its tags only once the digest
// is signed and verified. Single and multi-platform, each tag names the
// signed digest (the index for a multi-platform build).
func TestReleaseTagsOnlySigned(t *testing.T) {
	b := bed(t)
	priv, pub := keyPair(t, "pw-tags")
	tests := []struct {
		name     string
		platform string
	}{
		{"single platform", ""},
		{"multi-platform", "linux/amd64,linux/386"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			reg := b.PlainRegistry()
			repo := uniqueRepo(t, reg)
			sign, trust := defaultPathSign(t, b, "bundle")
			args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
				"--progress", "quiet", "--image", repo, "--tag", "v1", "--tag", "latest", "--key", priv}, sign...)
			if tt.platform != "" {
				args = append(args, "--platform", tt.platform, "--recursive")
			}
			r := hallmark(t, []string{"COSIGN_PASSWORD=pw-tags"}, args...)
			mustSucceed(t, r)
			rel := parseRelease(t, r)
			if want := []string{repo + ":v1", repo + ":latest"}; strings.Join(rel.Tags, ",") != strings.Join(want, ",") {
				t.Errorf("tags %v, want %v", rel.Tags, want)
			}
			for _, tag := range []string{repo + ":v1", repo + ":latest"} {
				if got := tagDigest(t, tag); got != rel.Digest {
					t.Errorf("%s names %q, want the signed %s", tag, got, rel.Digest)
				}
				v := hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...), tag)...)
				mustSucceed(t, v)
			}
			if tt.platform != "" && len(rel.Platforms) != 2 {
				t.Errorf("platforms %v, want 2", rel.Platforms)
			}
		})
	}
}

// TestReleaseSignatureRefusedLeavesNoTag: a registry that refuses every
// signature write (a 403 on the .sig tag or the referrers fallback tag)
// fails the release in its sign stage, and the release leaves no tag: the
// repository holds at most the untagged digest.
func TestReleaseSignatureRefusedLeavesNoTag(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "pw-refused")
	reg := b.PlainRegistry()
	refuse := func(r *http.Request) faultproxy.Fault {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
			return faultproxy.Refused
		}
		return ""
	}
	tests := []struct{ mode, platform string }{
		{"legacy", ""},
		{"bundle", ""},
		{"legacy", "linux/amd64,linux/386"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.platform, func(t *testing.T) {
			t.Parallel()
			p, addr, _ := testutil.FaultProxy(t, "http://"+reg, faultproxy.Options{Pick: refuse})
			ctxDir, df := buildContext(t, b)
			repoPath := strings.TrimPrefix(uniqueRepo(t, "x"), "x/")
			sign, trust := defaultPathSign(t, b, tt.mode) // simple signatures: TSA only (defaultpath_test.go)
			args := append(append(append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", addr, "--context", ctxDir, "-f", df,
				"--progress", "quiet", "--image", addr + "/" + repoPath, "--tag", "v1", "--key", priv}, sign...), trust...),
				storageArgs(tt.mode)...)
			if tt.platform != "" {
				args = append(args, "--platform", tt.platform, "--recursive")
			}
			r := hallmark(t, []string{"COSIGN_PASSWORD=pw-refused"}, args...)
			if r.Code != exitSign {
				t.Fatalf("release with signature writes refused: exit %d, want %d (sign)\n%s", r.Code, exitSign, r)
			}
			refused := 0
			for _, req := range p.Requests() {
				if req.Fault == faultproxy.Refused {
					refused++
				}
			}
			if refused == 0 {
				t.Error("the proxy refused no signature write: the release failed for another reason")
			}
			if got := tagDigest(t, reg+"/"+repoPath+":v1"); got != "" {
				t.Errorf("the failed release left tag v1 naming %s", got)
			}
			if tags := allTags(t, reg+"/"+repoPath); len(tags) != 0 {
				t.Errorf("the failed release left tags %v", tags)
			}
		})
	}
}
