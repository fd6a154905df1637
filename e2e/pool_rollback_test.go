package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/layout"
)

// gatedContext is a build context of testutil.GatedDockerfile and the bed's busybox.
func gatedContext(t *testing.T, b testbed) (contextDir, dockerfile string) {
	t.Helper()
	dir := t.TempDir()
	e2etest.CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte(testutil.GatedDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, df
}

// TestPoolReleaseFailsCleanly: a keyless 2-platform release on the bed's
// buildkitd and buildkitd-pool, linux/arm64's RUN step held on a gate
// until linux/amd64's manifest is signed in the registry, then failing.
// The release exits 3 (build) with one error line naming linux/arm64 and
// saying its signatures were rolled back; no tag is written; amd64's
// manifest, signed early, is signed no more: no signature or bundle is
// stored for it, cosign v3.1.3 verify finds no signatures, hallmark verify
// fails, and its provenance attestation is gone too. On both registries,
// in the default bundle format and in the legacy one.
func TestPoolReleaseFailsCleanly(t *testing.T) {
	b := bed(t)
	sign, trust := b.Sigstore()
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, mode := range []string{"bundle", "legacy"} {
			t.Run(strings.ReplaceAll(reg, ":", "_")+"/"+mode, func(t *testing.T) {
				t.Parallel()
				g := testutil.NewPlatformGate("no")
				srv := httptest.NewServer(g)
				t.Cleanup(srv.Close)
				ctxDir, df := gatedContext(t, b)
				env, _ := keylessGitLabEnv(t, b, reg, nil)
				repo := env["CI_REGISTRY_IMAGE"]
				args := append([]string{"release", "--addr", b.BuildkitUnix(), "--addr", b.Getenv("HALLMARK_TEST_BUILDKIT_POOL"),
					"--insecure-registry", reg, "--context", ctxDir, "-f", df, "--platform", "linux/amd64,linux/arm64",
					"--build-arg", "GATE=" + srv.URL, "--build-arg", fmt.Sprintf("REV=%s-%d", t.Name(), time.Now().UnixNano()),
					"--tag", "v1", "--progress", "plain", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, append(storageArgs(mode), sign...)...)
				h := startHallmark(t, envList(env), args...)
				amd := signedEarly(t, h, repo)
				t.Logf("linux/amd64's manifest %s signed while linux/arm64 was held", amd)
				g.Open()
				r := h.wait(t, 3*time.Minute)
				assertOneLineError(t, r, exitBuild, "linux/arm64", "signatures and attestations were rolled back: nothing is signed")
				t.Logf("%s", lastLine(r.Stderr))
				if r.Stdout != "" {
					t.Errorf("stdout must be empty on failure, got %q", r.Stdout)
				}
				assertNotPushed(t, repo+":v1")
				checkUnsigned(t, b, trust, repo+"@"+amd, env["CI_PROJECT_URL"]+"//.gitlab-ci.yml@refs/heads/main")
			})
		}
	}
}

// exportedManifest is BuildKit's plain progress line for a platform
// manifest it exported (not the index: "manifest list"; not the
// attestation manifest: "attestation manifest").
var exportedManifest = regexp.MustCompile(`exporting manifest (sha256:[0-9a-f]{64})`)

// signedEarly waits until the release's progress shows a platform
// manifest exported (amd64's: arm64's RUN is held) and that manifest has
// a signature in the registry, and returns its digest; the release
// ending first fails the test.
func signedEarly(t *testing.T, h *running, repo string) string {
	t.Helper()
	var digest string
	waitFor(t, 2*time.Minute, "linux/amd64's manifest signed in the registry", func() bool {
		if h.exited() {
			return true
		}
		if digest == "" {
			m := exportedManifest.FindStringSubmatch(h.stderrSoFar())
			if m == nil {
				return false
			}
			digest = m[1]
		}
		return storedSignatures(t, repo+"@"+digest) > 0
	})
	if h.exited() {
		t.Fatalf("the release ended before linux/amd64 was signed, while linux/arm64 was held:\n%s", h.res)
	}
	return digest
}

// storedSignatures counts the signatures and attestations stored for ref
// (repo@sha256:...): the layers of its legacy signature tag, and its
// referrers (through the referrers API, or the fallback index without
// it) that are Sigstore bundles or simple-signing referrers — not
// BuildKit's attestation manifests, which may name the manifest as their
// subject too.
func storedSignatures(t *testing.T, ref string) int {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := plainOptions(t.Context())
	n := 0
	if img, err := remote.Image(layout.SignatureTag(d), opts...); err == nil {
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		n += len(layers)
	} else if !layout.IsNotFound(err) {
		t.Fatalf("reading %s's signature tag: %v", ref, err)
	}
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		t.Fatalf("listing the referrers of %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range im.Manifests {
		if desc.ArtifactType == layout.SimpleSigningArtifactType || layout.IsBundleReferrer(desc) {
			n++
			continue
		}
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), opts...)
		if layout.IsNotFound(err) {
			continue // listed, but deleted: stores nothing
		}
		if err != nil {
			t.Fatalf("reading %s's referrer %s: %v", ref, desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Layers {
			if l.MediaType == layout.BundleMediaType {
				n++
				break
			}
		}
	}
	return n
}

// checkUnsigned checks that nothing signs ref any more: no signature or
// attestation stored, cosign v3.1.3 verify finds no signatures and
// verify-attestation no provenance, hallmark verify fails (exit 5).
func checkUnsigned(t *testing.T, b testbed, trust []string, ref, identity string) {
	t.Helper()
	if n := storedSignatures(t, ref); n != 0 {
		t.Errorf("%s keeps %d signatures or attestations after the rollback", ref, n)
	}
	cosign := []string{"--allow-insecure-registry", "--allow-http-registry", "--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"),
		"--insecure-ignore-tlog", "--insecure-ignore-sct", "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), ref}
	if r := runCosign3(t, b, append([]string{"verify"}, cosign...)...); r.Code == 0 || !strings.Contains(r.Stderr, "no signatures found") {
		t.Errorf("cosign v3 verify of the rolled-back %s: want it to fail with no signatures found:\n%s", ref, r)
	}
	if r := runCosign3(t, b, append([]string{"verify-attestation", "--type", "slsaprovenance1"}, cosign...)...); r.Code == 0 {
		t.Errorf("cosign v3 verify-attestation accepts the rolled-back provenance of %s:\n%s", ref, r)
	}
	verify := append([]string{"verify", "--insecure-registry", strings.Split(ref, "/")[0], "--certificate-identity", identity,
		"--certificate-oidc-issuer", b.Issuer()}, trust...)
	assertOneLineError(t, hallmark(t, nil, append(verify, ref)...), exitVerify, "no signatures")
}
