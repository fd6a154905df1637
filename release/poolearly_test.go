package release

import (
	"cmp"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestPoolSignsEarly releases linux/amd64 and linux/arm64 on two of the
// bed's buildkitd (keyed; legacy signatures and bundles; provenance),
// arm64's RUN step held by a gate: amd64's manifest is signed while arm64
// still builds (its signature tag appears in the registry before the
// gate opens). When arm64's build then passes, the release reports what
// a release signs, in the order it always has; when it fails, the
// release fails and every signature and attestation it wrote is gone: no
// signature in any signature tag, no referrer of any digest it signed. On
// the registry without the referrers API and on the one with it.
func TestPoolSignsEarly(t *testing.T) {
	bed := poolBed(t)
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(testutil.GatedDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	e2eCopy(t, bed.busybox, filepath.Join(ctxDir, "busybox"))
	for _, host := range []string{bed.plain, bed.referrers} {
		for _, slowFails := range []bool{false, true} {
			what := map[bool]string{false: "arm64 built", true: "arm64 fails"}[slowFails]
			t.Run(map[bool]string{false: "no-referrers-api", true: "referrers-api"}[host == bed.referrers]+"/"+what, func(t *testing.T) {
				g := testutil.NewPlatformGate(map[bool]string{false: "go", true: "no"}[slowFails])
				srv := httptest.NewServer(g)
				defer srv.Close()
				repo := fmt.Sprintf("%s/early-%d", host, time.Now().UnixNano())
				o := earlyRelease(t, bed, ctxDir, repo, srv.URL)
				done := make(chan earlyOutcome, 1)
				go func() {
					res, err := Run(t.Context(), o)
					done <- earlyOutcome{res, err}
				}()
				seen := waitSigned(t, o.Build.Registry, repo, done)
				t.Logf("signed while arm64 was held: %v", seen)
				g.Open()
				out := <-done
				if slowFails {
					if out.err == nil || StageOf(out.err) != StageBuild || !strings.Contains(out.err.Error(), "nothing is signed") {
						t.Fatalf("want the build to fail and the release to say it rolled back its signatures; got %v", out.err)
					}
					t.Logf("error: %v", out.err)
					checkNothingSigned(t, o.Build.Registry, repo)
					return
				}
				if out.err != nil {
					t.Fatal(out.err)
				}
				checkEarlyResult(t, out.res, seen)
			})
		}
	}
}

// earlyRelease is the options of a keyed pool release of ctxDir to repo:
// amd64 on the bed's buildkitd, arm64 on buildkitd-pool.
func earlyRelease(t *testing.T, bed poolBedEnv, ctxDir, repo, gateURL string) Options {
	kp := signertest.Keys(t, "early")
	r := registry.New(registry.Config{Insecure: []string{strings.Split(repo, "/")[0]}})
	return Options{
		Pool: []pool.Node{
			{Name: "bed", Connect: builder.ConnectOptions{Addr: bed.unix}, Platforms: []string{"linux/amd64"}},
			{Name: "pool", Connect: builder.ConnectOptions{Addr: bed.pool}, Platforms: []string{"linux/arm64"}},
		},
		Build: BuildOptions{
			Request: builder.Request{ContextDir: ctxDir, Platforms: []string{"linux/amd64", "linux/arm64"},
				BuildArgs: []string{"GATE=" + gateURL, "REV=" + t.Name() + time.Now().String()}, Provenance: &builder.Provenance{}},
			Tags: []string{repo + ":v1"}, Registry: r,
		},
		Signer: signer.Options{Key: kp.Private, Password: kp.Password, SkipTlogUpload: true, Mode: signer.ModeLegacy, Bundle: true,
			RemoteOptions: r.RemoteOptions(t.Context()), ShortestRoundTrip: r.ShortestRoundTrip},
		Annotations: map[string]string{"tag": "v1"},
		Policy:      verifier.Policy{Annotations: map[string]string{"tag": "v1"}},
		Trust:       verifier.Trust{IgnoreTlog: true},
	}
}

// earlyOutcome is how a release of TestPoolSignsEarly ended.
type earlyOutcome struct {
	res *Result
	err error
}

// amd64Signatures is how many digests amd64's stage signs: its manifest
// and its attestation manifest (provenance is on), in parallel.
const amd64Signatures = 2

// waitSigned waits until repo holds legacy signature tags with a
// signature for each of the digests amd64's stage signs (nothing else
// can be signed while arm64 is held: the index waits for the merge) and
// returns them; it fails the test if the release ends first.
func waitSigned(t *testing.T, r *registry.Registry, repo string, done <-chan earlyOutcome) []string {
	t.Helper()
	for {
		if signed := signatureTags(t, r, repo, true); len(signed) >= amd64Signatures {
			return signed
		}
		select {
		case out := <-done:
			t.Fatalf("the release ended before anything was signed, while arm64 was held (the gate closed): %v", out.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signatureTags are the digests (sha256:...) whose legacy signature tag
// repo holds; with nonEmpty, only those with a signature in it.
func signatureTags(t *testing.T, r *registry.Registry, repo string, nonEmpty bool) []string {
	t.Helper()
	rp, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(rp, r.RemoteOptions(t.Context())...)
	if err != nil && !layout.IsNotFound(err) {
		t.Fatal(err)
	}
	var out []string
	for _, tag := range tags {
		hex, ok := strings.CutSuffix(strings.TrimPrefix(tag, "sha256-"), ".sig")
		if !ok || !strings.HasPrefix(tag, "sha256-") {
			continue
		}
		if nonEmpty && legacySignatures(t, r, rp.Digest("sha256:"+hex)) == 0 {
			continue
		}
		out = append(out, "sha256:"+hex)
	}
	return out
}

// legacySignatures counts the signatures in d's legacy signature tag.
func legacySignatures(t *testing.T, r *registry.Registry, d name.Digest) int {
	t.Helper()
	sigs, err := ociremote.Signatures(signer.SignatureTag(d), ociremote.WithRemoteOptions(r.RemoteOptions(t.Context())...))
	if err != nil {
		t.Fatal(err)
	}
	list, err := sigs.Get()
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// checkNothingSigned checks that no digest of repo the release signed
// keeps a signature: every legacy signature tag is empty, and no digest
// has a referrer (bundle signature or attestation), through the referrers
// API or the fallback index.
func checkNothingSigned(t *testing.T, r *registry.Registry, repo string) {
	t.Helper()
	digests := signatureTags(t, r, repo, false)
	if len(digests) == 0 {
		t.Fatal("no signature tag at all: nothing was signed before the failure, the test proves nothing")
	}
	rp, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(r.RemoteOptions(t.Context()), remote.WithReferrersTagFallback(false))
	for _, h := range digests {
		d := rp.Digest(h)
		if n := legacySignatures(t, r, d); n != 0 {
			t.Errorf("%s keeps %d legacy signatures", d, n)
		}
		refs, err := layout.ListReferrers(d, opts, true, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			if signatureReferrer(t, r, rp, ref.Descriptor) {
				t.Errorf("%s keeps a signature or attestation: %s (%s, %s)", d, ref.Descriptor.Digest, ref.Descriptor.ArtifactType, ref.Location)
			}
		}
	}
}

// checkEarlyResult checks a pool release's result lists what a release
// signs, in its order — the index, each platform's manifest, each
// platform's attestation manifest — each verified, each platform's
// provenance attested, and that what was signed early is amd64's.
func checkEarlyResult(t *testing.T, res *Result, early []string) {
	t.Helper()
	b := res.Build
	want := []string{b.Digest.String()}
	for _, p := range b.Platforms {
		want = append(want, p.Digest.String())
	}
	for _, p := range b.Platforms {
		want = append(want, p.Attestation.Digest.String())
	}
	var got []string
	for _, s := range res.Signatures {
		got = append(got, s.Digest.DigestStr())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("signed\n%v\nwant\n%v", got, want)
	}
	if len(res.Verifications) != len(want) {
		t.Errorf("%d verifications, want %d", len(res.Verifications), len(want))
	}
	for i, v := range res.Verifications {
		if i < len(want) && v.Digest.DigestStr() != want[i] {
			t.Errorf("verification %d is of %s, want %s", i, v.Digest.DigestStr(), want[i])
		}
	}
	if len(res.Provenance) != 2 {
		t.Fatalf("%d platforms' provenance, want 2", len(res.Provenance))
	}
	for i, p := range res.Provenance {
		if p.Attestation == nil || p.Platform != b.Platforms[i].Platform {
			t.Errorf("provenance %d: %s attested %v, want %s's attested", i, p.Platform, p.Attestation != nil, b.Platforms[i].Platform)
		}
	}
	amd := ""
	for _, p := range b.Platforms {
		if p.Platform == "linux/amd64" {
			amd = p.Digest.String()
		}
	}
	for _, d := range early {
		if d == amd {
			return
		}
	}
	t.Errorf("signed while arm64 was held: %v; want amd64's manifest %s among them", early, amd)
}

// poolBedEnv is what TestPoolSignsEarly needs of the test bed.
type poolBedEnv struct {
	unix, pool, plain, referrers, busybox string
}

// poolBed reads the test bed's buildkitd (the bed's, buildkitd-pool) and
// registries; it skips without a bed, and fails under CI.
func poolBed(t *testing.T) poolBedEnv {
	t.Helper()
	b := poolBedEnv{unix: os.Getenv("HALLMARK_TEST_BUILDKIT_UNIX"), pool: os.Getenv("HALLMARK_TEST_BUILDKIT_POOL"),
		plain: os.Getenv("HALLMARK_TEST_REGISTRY_PLAIN"), referrers: os.Getenv("HALLMARK_TEST_REGISTRY_REFERRERS"),
		busybox: cmp.Or(os.Getenv("HALLMARK_TEST_BUSYBOX"), "/bin/busybox")}
	if b.unix == "" || b.pool == "" || b.plain == "" || b.referrers == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("test bed required under CI: HALLMARK_TEST_BUILDKIT_UNIX, _POOL, HALLMARK_TEST_REGISTRY_PLAIN, _REFERRERS unset")
		}
		t.Skip("test bed not up: eval \"$(hack/testbed.sh up)\"")
	}
	return b
}

// e2eCopy copies the file src to dst, executable.
func e2eCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("a static busybox is needed for RUN steps: %v", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// signatureReferrer reports whether a referrer of repo is a signature or
// an attestation (a simple-signing referrer, a Sigstore bundle), not one
// of BuildKit's attestation manifests (they name their platform's
// manifest as subject too).
func signatureReferrer(t *testing.T, r *registry.Registry, repo name.Repository, d v1.Descriptor) bool {
	t.Helper()
	if d.ArtifactType == signer.ArtifactType || layout.IsBundleReferrer(d) {
		return true
	}
	img, err := remote.Image(repo.Digest(d.Digest.String()), r.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.MediaType == layout.BundleMediaType {
			return true
		}
	}
	return false
}
