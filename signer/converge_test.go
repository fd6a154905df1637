package signer_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestIdenticalSignaturesConverge runs signers in separate Signers (as
// separate processes: concurrent releases of the same content) that sign
// one digest at once with the same key and annotations, in each layout
// (the legacy signature tag, OCI 1.1 simple-signing referrers, Sigstore
// bundles) on registries with and without the referrers API, without
// faults and through a proxy failing 10% of the requests. Each must
// succeed and one signature be left, not one per signer.
func TestIdenticalSignaturesConverge(t *testing.T) {
	const n = 4
	type layoutCase struct {
		name   string
		mode   signer.Mode
		bundle bool
	}
	layouts := []layoutCase{{"legacy", signer.ModeLegacy, false}, {"oci-1-1", signer.ModeOCI11, false}, {"bundle", "", true}}
	for _, l := range layouts {
		for _, referrers := range []bool{false, true} {
			if l.mode == signer.ModeLegacy && referrers {
				continue // the .sig tag does not use the referrers API
			}
			for _, rate := range []float64{0, 0.10} {
				t.Run(fmt.Sprintf("%s/%s/%.0f%% faults", l.name, signertest.Name(referrers), rate*100), func(t *testing.T) {
					t.Parallel()
					upstream := signertest.NewRegistry(t, referrers)
					p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Rate: rate, Seed: 15,
						Faults: append(slices.Clone(faultproxy.AllFaults), faultproxy.LostAnswer)})
					if err != nil {
						t.Fatal(err)
					}
					host, d, orig := imageBehind(t, upstream, p)
					signers := make([]*signer.Signer, n)
					for i := range n {
						signers[i] = regSignerFormat(t, host, fmt.Sprintf("signer-%d", i), l.mode, l.bundle)
					}
					errs := make([]error, n)
					var wg sync.WaitGroup
					for i, s := range signers {
						wg.Go(func() {
							_, errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
						})
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					p.SetRate(0)
					var left int
					switch legacy, ss := stored(t, upstream, orig); {
					case l.bundle:
						left = len(bundleReferrers(t, upstream, orig))
					case l.mode == signer.ModeLegacy:
						left = legacy
					default:
						left = ss
					}
					if left != 1 {
						t.Errorf("%d signers of the same content left %d signatures, want 1 (%d faults in %d requests)", n, left, p.Faults(), len(p.Requests()))
					}
				})
			}
		}
	}
}

// TestConvergeDeleteRefused signs one digest with 4 identical signers at
// once in bundles on a registry that refuses manifest DELETEs (405,
// UNSUPPORTED), their first listings held until all have read. Signing
// succeeds; without the referrers API the
// duplicates still leave the fallback index (their manifests stay,
// unlisted), with it they stay.
func TestConvergeDeleteRefused(t *testing.T) {
	const n = 4
	for _, referrers := range []bool{false, true} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			t.Parallel()
			upstream := signertest.NewRegistry(t, referrers)
			u, err := url.Parse("http://" + upstream.Host)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(u)
			var refused atomic.Int64
			firstReads := testutil.NewBarrier(n)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The signers' first listings are held until all have
				// read: each writes its own.
				if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/referrers/") || strings.Contains(r.URL.Path, "/manifests/sha256-")) {
					firstReads.Wait()
				}
				if r.Method == http.MethodDelete {
					refused.Add(1)
					refuseDelete(w)
					return
				}
				proxy.ServeHTTP(w, r)
			})
			host, d, orig := imageBehind(t, upstream, h)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				s := regSignerFormat(t, host, fmt.Sprintf("signer-%d", i), "", true)
				wg.Go(func() {
					_, errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			left := len(bundleReferrers(t, upstream, orig))
			t.Logf("%d bundles left, %d DELETEs refused", left, refused.Load())
			if refused.Load() == 0 {
				t.Error("no DELETE was tried: the signers did not write one bundle each")
			}
			if left < 1 || !referrers && left != 1 {
				t.Errorf("%d bundles left, want 1 (at least 1 with the referrers API)", left)
			}
		})
	}
}

// refuseDelete answers a DELETE as a registry that does not support it
// (405, UNSUPPORTED).
func refuseDelete(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	fmt.Fprint(w, `{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`)
}
