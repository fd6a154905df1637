package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/verifier"
)

// faultRate is the fraction of registry requests the proxy fails in
// TestReleaseUnderFaults, as issue 5 asks.
const faultRate = 0.10

// faultKinds are every transient fault the proxy has: 429/500/502/503 with
// and without Retry-After, connection resets before the request reaches the
// registry, and answers lost after it acted.
var faultKinds = append(slices.Clone(faultproxy.AllFaults), faultproxy.LostAnswer)

// TestReleaseUnderFaults runs hallmark release (keyless, on the bed's
// Fulcio and TSA) 50 times through proxies that fail 10% of the requests
// to the registry — buildkitd's push and hallmark's own — 25 runs per
// registry kind, cycling through the storage modes. At least 49 runs must
// succeed, and every successful run must leave exactly one valid signature
// per layout, on the digest it built, and no signature of any other digest.
// faultWorkers of them run at once.
func TestReleaseUnderFaults(t *testing.T) {
	b := bed(t)
	const runs, faultWorkers = 50, 6
	frs := newFaultRegistries(t, b, faultRate, 20260505)
	ctxDir, df := buildContext(t, b)
	var passed atomic.Int64
	start := time.Now()
	frs.run(t, runs, faultWorkers, func(t *testing.T, run int, fr faultRegistry) {
		repoPath := strings.TrimPrefix(uniqueRepo(t, "x"), "x/")
		if releaseThroughFaults(t, b, fr.reg, fr.addr, repoPath, ctxDir, df, run) {
			passed.Add(1)
		}
	})
	faults, byAgent := map[string]int{}, map[string]int{}
	requests, total := 0, 0
	for _, fr := range frs {
		for _, r := range fr.proxy.Requests() {
			requests++
			if r.Fault != "" {
				total++
				faults[string(r.Fault)]++
				byAgent[agent(r.UserAgent)]++
			}
		}
		t.Logf("%s: %d requests, %d faults injected", registryName(b, fr.reg), len(fr.proxy.Requests()), fr.proxy.Faults())
	}
	t.Logf("release under %.0f%% registry faults: %d of %d runs passed in %v (%d at a time); %d faults injected in %d registry requests (by kind %v; by client %v)",
		faultRate*100, passed.Load(), runs, time.Since(start).Round(time.Second), faultWorkers, total, requests, faults, byAgent)
	if passed.Load() < runs-1 {
		t.Errorf("%d of %d releases passed under faults, want at least %d", passed.Load(), runs, runs-1)
	}
}

// faultRegistry is one of the bed's registries behind a fault proxy.
type faultRegistry struct {
	reg   string // the registry itself
	addr  string // the proxy in front of it
	proxy *faultproxy.Proxy
}

// faultRegistries are both of the bed's registries (without, then with the
// referrers API) behind fault proxies.
type faultRegistries []faultRegistry

// newFaultRegistries puts a proxy failing rate of the requests with every fault
// kind (faultKinds) in front of each of the bed's registries, seeded
// seed, seed+1.
func newFaultRegistries(t *testing.T, b testbed, rate float64, seed uint64) faultRegistries {
	t.Helper()
	var frs faultRegistries
	for i, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		p, addr, _ := testutil.FaultProxy(t, "http://"+reg, faultproxy.Options{Rate: rate, Seed: seed + uint64(i), Faults: faultKinds})
		frs = append(frs, faultRegistry{reg: reg, addr: addr, proxy: p})
	}
	return frs
}

// run calls f for runs 0 to runs-1, workers at a time, each in a subtest
// runNN (not parallel: the workers are; so a check may stop its run with
// t.Fatal), with the registries taken in turn. Runs mostly wait out
// backoffs, so a few at once use about half a core.
func (frs faultRegistries) run(t *testing.T, runs, workers int, f func(t *testing.T, run int, fr faultRegistry)) {
	next := make(chan int, runs)
	for run := range runs {
		next <- run
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for run := range next {
				t.Run(fmt.Sprintf("run%02d", run), func(t *testing.T) { f(t, run, frs[run%len(frs)]) })
			}
		})
	}
	wg.Wait()
}

// faultMode is the storage mode of run number run.
func faultMode(run int) string { return []string{"legacy", "oci-1-1", "both", "bundle"}[run/2%4] }

func registryName(b testbed, reg string) string {
	if reg == b.ReferrersRegistry() {
		return "referrers-api"
	}
	return "no-referrers-api"
}

func agent(ua string) string {
	switch {
	case strings.HasPrefix(ua, "hallmark"):
		return "hallmark"
	case strings.Contains(ua, "buildkit") || strings.Contains(ua, "containerd"):
		return "buildkitd"
	}
	return ua
}

// releaseThroughFaults runs one release pushing to the proxy at addr (in
// front of reg) into repoPath and checks what it left; it reports whether
// the release succeeded. A successful release with a wrong result fails
// the test.
func releaseThroughFaults(t *testing.T, b testbed, reg, addr, repoPath, ctxDir, df string, run int) bool {
	t.Helper()
	mode := faultMode(run)
	sign, trust := b.Sigstore()
	identity := b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
	token := b.Token(t, "project_path=group/app&ref=main")
	args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", addr, "--context", ctxDir, "-f", df,
		"--progress", "quiet", "--image", addr + "/" + repoPath, "--tag", fmt.Sprintf("run%d", run),
		"--build-arg", fmt.Sprintf("GREETING=faults-%d-%d", run, time.Now().UnixNano()),
		"-a", fmt.Sprintf("run=%d", run), "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()},
		append(storageArgs(mode), sign...)...)
	args = append(args, trust[2:]...) // --insecure-ignore-tlog --insecure-ignore-sct
	r := hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + token}, args...)
	if r.Code != 0 {
		t.Logf("run %d (%s) failed under faults: exit %d: %s", run, mode, r.Code, lastLine(r.Stderr))
		return false
	}
	var rel releaseJSON
	if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
		t.Errorf("run %d: release stdout is not its JSON: %v\n%s", run, err, r)
		return false
	}
	// Bundles: the provenance too (release's default), with the platform
	// and attestation manifests signed.
	signed := rel.signedDigests()
	if want := rel.wantSigned(false); !slices.Equal(signed, want) || (mode == "bundle") != (len(rel.Provenance) == 1) {
		t.Errorf("run %d (%s): signed %v with %d provenances, want %v", run, mode, signed, len(rel.Provenance), want)
	}
	checkOneSignature(t, b, reg, reg+"/"+repoPath, signed, mode, identity, map[string]string{"run": fmt.Sprint(run)})
	for _, p := range rel.Provenance {
		d, err := name.NewDigest(reg+"/"+repoPath+"@"+p.Manifest, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if n := provenanceAttestations(t, d); n != 1 {
			t.Errorf("run %d: %s has %d provenance attestations, want 1", run, d, n)
		}
	}
	return true
}

// signatureReferrerCount counts the referrers the referrers API lists for
// d that are signatures as hallmark writes them: bundles annotated as
// signatures (not the provenance's) and simple-signing referrers, not
// BuildKit's attestation manifest (a referrer of its image on a registry
// with the referrers API).
func signatureReferrerCount(t *testing.T, d name.Digest) int {
	t.Helper()
	refs, err := layout.ListReferrers(d, append(plainOptions(t.Context()), remote.WithReferrersTagFallback(false)), true, false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range refs {
		d := r.Descriptor
		if layout.IsBundleReferrer(d) && d.Annotations[layout.AnnotationBundlePredicateType] == layout.PredicateTypeSign ||
			d.ArtifactType == layout.SimpleSigningArtifactType {
			n++
		}
	}
	return n
}

// provenanceAttestations counts the SLSA v1 provenance attestation bundles
// listed as referrers of d (the referrers API or the fallback index).
func provenanceAttestations(t *testing.T, d name.Digest) int {
	t.Helper()
	return testutil.Attestations(t, d, plainOptions(t.Context()), layout.PredicateTypeSLSAProvenance1)
}

// checkOneSignature reads the repository back from the registry itself
// (not through the proxy) and fails unless each digest has exactly one
// valid signature in each layout of mode — a simple-signing mode,
// "bundle", or "all" (--both-formats with the simple-signing mode both) —
// and nothing else is signed.
func checkOneSignature(t *testing.T, b testbed, reg, repo string, digests []string, mode, identity string, ann map[string]string) {
	t.Helper()
	for _, digest := range digests {
		checkDigestSignature(t, b, reg, repo, digest, mode, identity, ann)
	}
	allowed := map[string]bool{}
	for _, digest := range digests {
		hex := strings.TrimPrefix(digest, "sha256:")
		allowed["sha256-"+hex+".sig"], allowed["sha256-"+hex] = true, true
	}
	for _, tag := range signatureTags(t, repo) {
		if !allowed[tag] {
			t.Errorf("%s holds %s: a signature of another digest", repo, tag)
		}
	}
}

// checkDigestSignature fails unless digest has exactly one valid signature
// in each layout of mode (checkOneSignature).
func checkDigestSignature(t *testing.T, b testbed, reg, repo, digest, mode, identity string, ann map[string]string) {
	t.Helper()
	d, err := name.NewDigest(repo+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	res, err := verifier.Verify(t.Context(), d, verifier.Options{
		RemoteOptions: plainOptions(t.Context()),
		Policy:        verifier.Policy{Identity: identity, Issuer: b.Issuer(), Annotations: ann},
		Trust:         verifier.Trust{TrustedRoot: b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), IgnoreTlog: true, IgnoreSCT: true},
	})
	if err != nil {
		t.Errorf("%s: read back: %v", d, err)
		return
	}
	if len(res.Failures) != 0 {
		t.Errorf("%s: %d signatures that do not verify: %v", d, len(res.Failures), res.Failures)
	}
	referrer, bundle := verifier.LayoutReferrers, verifier.LayoutBundleReferrers
	if reg == b.PlainRegistry() {
		referrer, bundle = verifier.LayoutFallback, verifier.LayoutBundleFallback
	}
	want := map[verifier.Layout]int{}
	if mode == "legacy" || mode == "both" || mode == "all" {
		want[verifier.LayoutLegacy] = 1
	}
	if mode == "oci-1-1" || mode == "both" || mode == "all" {
		want[referrer] = 1
	}
	if mode == "bundle" || mode == "all" {
		want[bundle] = 1
	}
	if got := res.Layouts(); !maps.Equal(got, want) {
		t.Errorf("%s (%s mode): signatures per layout %v, want %v", d, mode, got, want)
	}
	if n, w := signatureReferrerCount(t, d), want[verifier.LayoutReferrers]+want[verifier.LayoutBundleReferrers]; reg == b.ReferrersRegistry() && n != w {
		t.Errorf("%s: the referrers API lists %d referrers, want %d", d, n, w)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestSignAgainAddsNothing signs one digest twice with the same identity
// and annotations, through the binary, keyed and keyless, in both layouts:
// the second run adds nothing and says so; other annotations add one.
func TestSignAgainAddsNothing(t *testing.T) {
	b := bed(t)
	sign, _ := b.Sigstore()
	priv, _ := keyPair(t, "pw-again")
	identity := b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, how := range []string{"keyed", "keyless"} {
			t.Run(registryName(b, reg)+"/"+how, func(t *testing.T) {
				t.Parallel()
				repo, digest := pushedImage(t, reg)
				ref := repo + "@" + digest
				args := []string{"sign", "--insecure-registry", reg, "--both-formats", "--registry-referrers-mode", "both", "--no-ci-annotations", "--tag", "v1"}
				var env []string
				if how == "keyed" {
					args = append(args, "--key", priv, "--tlog-upload=false")
					env = []string{"COSIGN_PASSWORD=pw-again"}
				} else {
					args = append(args, sign...)
				}
				signOnce := func(extra ...string) result {
					e := env
					if how == "keyless" {
						e = append(slices.Clone(env), "SIGSTORE_ID_TOKEN="+b.Token(t, "project_path=group/app&ref=main"))
					}
					r := hallmark(t, e, append(append(slices.Clone(args), extra...), ref)...)
					mustSucceed(t, r)
					return r
				}
				first := signOnce()
				if !strings.Contains(first.Stderr, "hallmark: signed ") {
					t.Errorf("first sign does not say it signed:\n%s", first.Stderr)
				}
				again := signOnce()
				if !strings.Contains(again.Stderr, "already signed, nothing added") || strings.Contains(again.Stderr, " added (") {
					t.Errorf("second sign with the same identity and annotations does not say it added nothing:\n%s", again.Stderr)
				}
				before := len(signatureTags(t, repo))
				if how == "keyless" {
					checkOneSignature(t, b, reg, repo, []string{digest}, "all", identity, map[string]string{"tag": "v1"})
				}
				other := signOnce("-a", "other=1")
				if !strings.Contains(other.Stderr, "hallmark: signed ") {
					t.Errorf("signing with another annotation does not say it signed:\n%s", other.Stderr)
				}
				if after := len(signatureTags(t, repo)); after != before {
					t.Errorf("signature tags %d -> %d", before, after)
				}
			})
		}
	}
}
