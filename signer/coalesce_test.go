package signer_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignSameDigestAtOnce: one digest given 5 times to one Signer at
// once (as `hallmark sign D D D D D` does) stores one signature, in each
// format; the other calls report it as already stored.
func TestSignSameDigestAtOnce(t *testing.T) {
	const n = 5
	for _, bundle := range []bool{false, true} {
		name := "legacy"
		if bundle {
			name = "bundle"
		}
		t.Run(name, func(t *testing.T) {
			reg := signertest.NewRegistry(t, false)
			d := reg.Image(t, "app")
			var s *signer.Signer
			if bundle {
				s = bundleSigner(t, reg, nil, identity{false, "a"}, "")
			} else {
				s = keyedSigner(t, reg, signer.ModeLegacy, "a")
			}
			res := make([]*signer.Result, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					res[i], errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			added := 0
			for _, r := range res {
				if r.Added() {
					added++
				}
			}
			l, _ := stored(t, reg, d)
			b := len(bundleReferrers(t, reg, d))
			if added != 1 || l+b != 1 {
				t.Fatalf("%d calls added a signature; stored: legacy %d, bundles %d; want 1", added, l, b)
			}
		})
	}
}
