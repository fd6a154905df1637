package signer_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestConcurrentSignersUnderFaults runs 12 signers of one digest at once,
// each with its own hallmark registry transport, through a proxy failing
// 10% of the requests with every transient fault it has (429/5xx with and
// without Retry-After, resets, answers lost after the registry acted).
// Every signer must succeed and every signature be kept, in every
// signature format (bundle, simple signing in the legacy and oci-1-1
// layouts, bundle and legacy together), in both layouts written by
// read-modify-write (the signature tag; the fallback index of a registry
// without the referrers API) and through the referrers API.
// Each run's seed is logged; HALLMARK_SIGNER_FAULT_RUNS=N runs N sequences
// per format and logs how many kept every signature (issue 15's figure).
func TestConcurrentSignersUnderFaults(t *testing.T) {
	const n = 12
	type format struct {
		name   string
		bundle bool
		mode   signer.Mode
	}
	formats := []format{{"bundle", true, ""}, {"legacy", false, signer.ModeLegacy},
		{"oci-1-1", false, signer.ModeOCI11}, {"both", true, signer.ModeLegacy}}
	type tcase struct {
		format
		referrers bool
	}
	var cases []tcase
	for _, f := range formats {
		for _, referrers := range []bool{false, true} {
			if f.mode == signer.ModeLegacy && !f.bundle && referrers {
				continue // the .sig tag does not use the referrers API
			}
			cases = append(cases, tcase{f, referrers})
		}
	}
	runs := 1
	if v := os.Getenv("HALLMARK_SIGNER_FAULT_RUNS"); v != "" { // not a bed variable: unset in CI
		var err error
		if runs, err = strconv.Atoi(v); err != nil || runs <= 0 {
			t.Fatalf("HALLMARK_SIGNER_FAULT_RUNS=%q: want a positive number of runs", v)
		}
	}
	for _, c := range cases {
		t.Run(c.name+"/"+signertest.Name(c.referrers), func(t *testing.T) {
			t.Parallel()
			kept := 0
			for run := range runs {
				if concurrentSigners(t, n, run, c.mode, c.bundle, c.referrers) {
					kept++
				}
			}
			t.Logf("FIGURES %s/%s: %d of %d runs kept all %d signatures at 10%% faults", c.name, signertest.Name(c.referrers), kept, runs, n)
		})
	}
}

// concurrentSigners runs n signers of one new digest at once through a
// proxy failing 10% of the requests and reports whether every one
// succeeded and every signature was kept; a failure fails t.
func concurrentSigners(t *testing.T, n, run int, mode signer.Mode, bundle, referrers bool) bool {
	t.Helper()
	upstream := signertest.NewRegistry(t, referrers)
	seed := uint64(time.Now().UnixNano())
	p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Rate: 0.10, Seed: seed,
		Faults: append(slices.Clone(faultproxy.AllFaults), faultproxy.LostAnswer)})
	if err != nil {
		t.Fatal(err)
	}
	host, d, orig := imageBehind(t, upstream, p)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	rounds := make([]int, n)
	for i := range n {
		wg.Go(func() {
			s := regSignerFormat(t, host, fmt.Sprintf("signer-%d", i), mode, bundle)
			res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
			if err != nil {
				errs[i] = fmt.Errorf("signer %d: %w", i, err)
				return
			}
			for _, w := range res.Layouts {
				rounds[i] += w.Attempts
			}
		})
	}
	wg.Wait()
	p.SetRate(0)
	l, r := stored(t, upstream, orig)
	b := len(bundleReferrers(t, upstream, orig))
	t.Logf("run %d, seed %d: %d signers in %v, %d faults in %d requests: legacy %d, referrers %d, bundles %d, rounds %v",
		run, seed, n, time.Since(start).Round(time.Millisecond), p.Faults(), len(p.Requests()), l, r, b, rounds)
	if err := errors.Join(errs...); err != nil {
		t.Errorf("run %d: %v", run, err)
		return false
	}
	if mode == signer.ModeLegacy && l != n || mode == signer.ModeOCI11 && r != n || bundle && b != n {
		t.Errorf("run %d: lost signatures: legacy %d, referrers %d, bundles %d of %d", run, l, r, b, n)
		return false
	}
	return true
}
