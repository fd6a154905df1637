package e2e

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestSelfRelease: hallmark ships signed by itself. Its own image (the
// context from hack/image-context.sh, the top-level Dockerfile) goes through
// `hallmark release` keyless as a GitLab job on the bed's default path (an
// SCT-bearing certificate, a Rekor v2 entry, a TSA timestamp; no insecure
// flag); `hallmark verify` and both cosign CLIs then accept the signature
// with the job's identity and every check on, and the image pulled by the signed digest holds the
// binary that was built.
func TestSelfRelease(t *testing.T) {
	b := bed(t)
	sign, trust := defaultPathSign(t, b, "bundle")
	reg := b.PlainRegistry()
	contextDir := selfImageContext(t, b)
	env, tok := keylessGitLabEnv(t, b, reg, nil)

	args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", contextDir,
		"-f", filepath.Join("..", "Dockerfile"), "--progress", "plain"}, sign...)
	r := hallmark(t, envList(env), args...)
	mustSucceed(t, r)
	if containsAny(r.Stdout+r.Stderr, tok) != "" {
		t.Fatal("the OIDC token appears in the output")
	}
	rel := parseRelease(t, r)
	repo, tag := env["CI_REGISTRY_IMAGE"], env["CI_COMMIT_SHORT_SHA"]
	if rel.Image != repo+"@"+rel.Digest || !slices.Equal(rel.Tags, []string{repo + ":" + tag}) {
		t.Errorf("image %s tags %v, want %s@DIGEST and [%s:%s]", rel.Image, rel.Tags, repo, repo, tag)
	}
	if len(rel.Provenance) != 1 || !slices.Equal(rel.signedDigests(), rel.wantSigned(false)) {
		t.Fatalf("signed %v with %d provenances, want %v", rel.signedDigests(), len(rel.Provenance), rel.wantSigned(false))
	}
	for _, s := range rel.Signatures {
		if want := gitlabAnnotations(env, tag); !maps.Equal(s.Annotations, want) {
			t.Errorf("annotations of %s\n got %v\nwant %v", s.Digest, s.Annotations, want)
		}
	}
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	if rel.Verified.Identity != identity || rel.Verified.Issuer != b.Issuer() {
		t.Errorf("verified %+v, want identity %s issuer %s", rel.Verified, identity, b.Issuer())
	}

	verify := append([]string{"verify", "--insecure-registry", reg, "--annotations", "tag=" + tag,
		"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
	mustSucceed(t, hallmark(t, nil, append(verify, rel.Image)...))
	cosignVerify(t, b, "bundle", reg, rel.Image, identity, "tag="+tag, trust)

	// What was signed is hallmark: its image, its binary, this version.
	ref, err := name.NewDigest(rel.Image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if c := imageConfig(t, img).Config; !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/hallmark"}) || c.User != "65532:65532" {
		t.Errorf("entrypoint %q user %q, want [/usr/local/bin/hallmark] and 65532:65532", c.Entrypoint, c.User)
	}
	files := imageEntries(t, img)
	checkSelfImageRootfs(t, files)
	checkSelfImageBinary(t, files["usr/local/bin/hallmark"])
}
