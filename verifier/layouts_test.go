package verifier_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestVerifyOnlyLayouts: Options.Layouts limits the search to the layouts
// named, with fewer registry requests; nil searches every layout.
func TestVerifyOnlyLayouts(t *testing.T) {
	for _, referrers := range []bool{false, true} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			d := reg.Image(t, "app")
			sign(t, reg, d, signer.ModeBoth, "k", map[string]string{"tag": "v1"})
			listed := verifier.LayoutFallback
			if referrers {
				listed = verifier.LayoutReferrers
			}
			verify := func(only ...verifier.Layout) (map[verifier.Layout]int, int64) {
				t.Helper()
				before := reg.Requests.Load()
				res, err := verifier.Verify(context.Background(), d, verifier.Options{
					RemoteOptions: reg.Options, Layouts: only,
					Policy: verifier.Policy{Key: signertest.Keys(t, "k").Public, Annotations: map[string]string{"tag": "v1"}},
					Trust:  verifier.Trust{IgnoreTlog: true},
				})
				if err != nil {
					t.Fatalf("layouts %v: %v", only, err)
				}
				return res.Layouts(), reg.Requests.Load() - before
			}
			all, nAll := verify()
			if all[verifier.LayoutLegacy] != 1 || all[listed] != 1 {
				t.Fatalf("all layouts: found %v, want legacy and %s", all, listed)
			}
			legacy, nLegacy := verify(verifier.LayoutLegacy)
			if len(legacy) != 1 || legacy[verifier.LayoutLegacy] != 1 || nLegacy >= nAll {
				t.Errorf("legacy only: found %v in %d requests (all: %d)", legacy, nLegacy, nAll)
			}
			oci, nOCI := verify(verifier.LayoutReferrers, verifier.LayoutFallback)
			if len(oci) != 1 || oci[listed] != 1 || nOCI >= nAll {
				t.Errorf("referrers only: found %v in %d requests (all: %d)", oci, nOCI, nAll)
			}
			t.Logf("requests: all layouts %d, legacy %d, referrers %d", nAll, nLegacy, nOCI)
		})
	}
}

// TestVerifyBundleLayouts: Options.Layouts names the bundle layouts apart
// from the simple-signing ones.
func TestVerifyBundleLayouts(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg, ss := signertest.NewRegistry(t, referrers), signertest.NewSigstore(t)
			d := reg.Image(t, "app")
			storeBundle(t, reg, d, signImage(t, d, nil, bundleOpts{ss: ss, project: "g/p", tsa: true}), layout.PredicateTypeSign)
			signKeyless(t, reg, ss, d, signer.ModeOCI11, "g/p", true, nil)
			for _, tc := range []struct {
				only []verifier.Layout
				want verifier.Format // "": no signatures
			}{
				{[]verifier.Layout{verifier.LayoutBundleReferrers, verifier.LayoutBundleFallback}, verifier.FormatBundle},
				{[]verifier.Layout{verifier.LayoutReferrers, verifier.LayoutFallback}, verifier.FormatSimpleSigning},
				{[]verifier.Layout{verifier.LayoutLegacy}, ""},
			} {
				res, err := verifier.Verify(context.Background(), d, verifier.Options{
					RemoteOptions: reg.Options, Layouts: tc.only,
					Policy: verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}, Trust: keylessTrust(ss, true),
				})
				if tc.want == "" {
					if !errors.Is(err, verifier.ErrNoSignatures) {
						t.Fatalf("layouts %v: %v, want ErrNoSignatures", tc.only, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("layouts %v: %v", tc.only, err)
				}
				if res.Checked() != 1 || res.Verified[0].Format != tc.want {
					t.Fatalf("layouts %v: verified %+v", tc.only, res.Verified)
				}
			}
		})
	}
}

// TestVerifyUnreadableReferrers: a bundle referrer listed in the fallback
// index that cannot be read (here: its manifest was deleted) is that
// signature's failure, and the legacy signature beside it still verifies.
// (A simple-signing referrer whose manifest is gone holds no signatures,
// as cosign reads it.)
func TestVerifyUnreadableReferrers(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "k", nil)
	sign(t, reg, d, signer.ModeOCI11, "j", nil)
	writeBundleReferrer(t, reg, d, []byte("{}"), layout.PredicateTypeSign)
	listed, err := layout.ReadFallbackIndex(d, reg.Options)
	if err != nil || len(listed) != 2 {
		t.Fatalf("fallback index: %v, %v", listed, err)
	}
	for _, desc := range listed {
		if err := remote.Delete(d.Context().Digest(desc.Digest.String()), reg.Options...); err != nil {
			t.Fatal(err)
		}
	}
	res, err := verifyKey(t, reg, d, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Verified) != 1 || len(res.Failures) != 1 || res.Failures[0].Check != verifier.CheckRead || res.Failures[0].Layout != verifier.LayoutBundleFallback {
		t.Fatalf("verified %d, failures %v; want 1 and the bundle's read failure", len(res.Verified), res.Failures)
	}
	t.Log(res.Failures)
}
