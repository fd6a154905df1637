package signer_test

import (
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestBundleRequests: a bundle signature costs no more registry requests
// than a legacy simple-signing one, once a Signer has pinged the registry
// (and, for bundles, stored the empty config in the repository and learnt
// whether the registry has the referrers API), as when a release signs
// several digests.
func TestBundleRequests(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			count := func(s *signer.Signer, reg *signertest.Registry) (first, then int) {
				for i, tag := range []string{"v1", "v2", "v3"} {
					d := reg.Image(t, "app")
					before := len(reg.Served())
					if _, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": tag}); err != nil {
						t.Fatal(err)
					}
					n := len(reg.Served()) - before
					if i == 0 {
						first = n
					} else if n > then {
						then = n
					}
				}
				return first, then
			}
			reg := signertest.NewRegistry(t, referrers)
			lFirst, legacy := count(keyedSigner(t, reg, signer.ModeLegacy, "a"), reg)
			reg = signertest.NewRegistry(t, referrers)
			bFirst, bundle := count(bundleSigner(t, reg, nil, identity{false, "a"}, ""), reg)
			t.Logf("requests per signature: legacy %d (first %d), bundle %d (first %d)", legacy, lFirst, bundle, bFirst)
			if bundle > legacy {
				t.Errorf("a bundle signature takes %d requests, a legacy one %d", bundle, legacy)
			}
		})
	}
}
