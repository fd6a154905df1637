package e2e

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestReleaseFaultFigures measures issue 15's figures: HALLMARK_FAULT_RUNS
// releases (keyless, cycling through the storage modes and both registry
// kinds) at each fault rate of HALLMARK_FAULT_RATES (default "0.10,0.30"),
// through proxies failing that fraction of every registry request, lost
// answers included. It is skipped without HALLMARK_FAULT_RUNS: too long
// for the default run (TestReleaseUnderFaults is CI's). A successful run
// must leave exactly one valid signature per layout (as in
// TestReleaseUnderFaults); a failed one must leave no tag and no signature
// that does not verify.
func TestReleaseFaultFigures(t *testing.T) {
	b := bed(t)
	runs, err := strconv.Atoi(os.Getenv("HALLMARK_FAULT_RUNS")) // not a bed variable: unset in CI
	if err != nil || runs <= 0 {
		t.Skip("set HALLMARK_FAULT_RUNS=N to run N releases per fault rate")
	}
	rates := os.Getenv("HALLMARK_FAULT_RATES")
	if rates == "" {
		rates = "0.10,0.30"
	}
	for _, s := range strings.Split(rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Fatalf("HALLMARK_FAULT_RATES: %v", err)
		}
		t.Run(fmt.Sprintf("rate%.0f", rate*100), func(t *testing.T) { faultFigures(t, b, runs, rate) })
	}
}

// faultFigures runs runs releases at rate and logs the figures.
func faultFigures(t *testing.T, b testbed, runs int, rate float64) {
	const workers = 6
	frs := newFaultRegistries(t, b, rate, uint64(time.Now().UnixNano()))
	ctxDir, df := buildContext(t, b)
	var passed, failed, tagsLeft, badLeft atomic.Int64
	start := time.Now()
	frs.run(t, runs, workers, func(t *testing.T, run int, fr faultRegistry) {
		repoPath := strings.TrimPrefix(uniqueRepo(t, "x"), "x/")
		if releaseThroughFaults(t, b, fr.reg, fr.addr, repoPath, ctxDir, df, run) {
			passed.Add(1)
			return
		}
		failed.Add(1)
		tags, bad := checkFailedRelease(t, b, fr.reg, fr.proxy, repoPath, run)
		tagsLeft.Add(int64(tags))
		badLeft.Add(int64(bad))
	})
	faults, requests := 0, 0
	for _, fr := range frs {
		faults += fr.proxy.Faults()
		requests += len(fr.proxy.Requests())
	}
	t.Logf("FIGURES rate %.0f%%: %d of %d releases passed, %d failed; failed releases left %d tags and %d signatures that do not verify; %d faults in %d registry requests; %v",
		rate*100, passed.Load(), runs, failed.Load(), tagsLeft.Load(), badLeft.Load(), faults, requests, time.Since(start).Round(time.Second))
}

// checkFailedRelease reads back, from the registry itself, what failed run
// left in repoPath: the tag (there must be none) and every signature of
// each digest buildkitd pushed there or a signature tag names (each must
// verify). It returns how many tags and bad signatures it found.
func checkFailedRelease(t *testing.T, b testbed, reg string, p *faultproxy.Proxy, repoPath string, run int) (tags, bad int) {
	t.Helper()
	repo := reg + "/" + repoPath
	if d := tagDigest(t, fmt.Sprintf("%s:run%d", repo, run)); d != "" {
		tags++
		t.Errorf("failed run %d left tag run%d naming %s", run, run, d)
	}
	digests := map[string]bool{}
	prefix := "/v2/" + repoPath + "/manifests/sha256:"
	for _, r := range p.Requests() {
		if r.Method == "PUT" && agent(r.UserAgent) == "buildkitd" && strings.HasPrefix(r.Path, prefix) {
			digests["sha256:"+strings.TrimPrefix(r.Path, prefix)] = true
		}
	}
	for _, tag := range signatureTags(t, repo) {
		digests["sha256:"+strings.TrimSuffix(strings.TrimPrefix(tag, "sha256-"), ".sig")] = true
	}
	identity := b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
	for dg := range digests {
		d, err := name.NewDigest(repo+"@"+dg, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		res, err := verifier.Verify(t.Context(), d, verifier.Options{
			RemoteOptions: plainOptions(t.Context()),
			Policy:        verifier.Policy{Identity: identity, Issuer: b.Issuer(), Annotations: map[string]string{"run": fmt.Sprint(run)}},
			Trust:         verifier.Trust{TrustedRoot: b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), IgnoreTlog: true, IgnoreSCT: true},
		})
		switch {
		case errors.Is(err, verifier.ErrNoSignatures):
		case err != nil:
			bad++
			t.Errorf("failed run %d left %s with signatures that do not verify: %v", run, d, err)
		case len(res.Failures) != 0:
			bad += len(res.Failures)
			t.Errorf("failed run %d left %s with %d signatures that do not verify: %v", run, d, len(res.Failures), res.Failures)
		}
	}
	t.Logf("failed run %d (%s): checked %d digests, %d tags and %d bad signatures left", run, faultMode(run), len(digests), tags, bad)
	return tags, bad
}
