package signer_test

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestWithdraw: a signer that signed one digest in every layout (the
// legacy tag, an OCI 1.1 simple-signing referrer, a bundle) and attested
// it withdraws exactly that: another signer's signatures and attestation
// of the same digest, stored before, stay, and withdrawing again finds
// nothing left to remove. On both registries (with and without the
// referrers API: there the fallback index stops listing ours).
func TestWithdraw(t *testing.T) {
	pt := layout.PredicateTypeSLSAProvenance1
	for _, referrers := range []bool{false, true} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			d := reg.Image(t, "app")
			ann := map[string]string{"tag": "v1"}
			sub := signer.Subject{Digest: d}
			sign := func(s *signer.Signer, pred string) (*signer.Result, *signer.Attestation) {
				t.Helper()
				res, err := s.Sign(t.Context(), sub, ann)
				if err != nil {
					t.Fatal(err)
				}
				a, err := s.Attest(t.Context(), sub, pt, provenancePredicate(pred))
				if err != nil {
					t.Fatal(err)
				}
				return res, a
			}
			otherRes, otherAtt := sign(withdrawSigner(t, reg.Host, "other"), "https://ci.example/other")
			s := withdrawSigner(t, reg.Host, "ours")
			res, a := sign(s, "https://ci.example/ours")
			if !res.Added() || a.Existing {
				t.Fatalf("our signatures were not written: %+v, attestation existing %v", res.Layouts, a.Existing)
			}
			for run := range 2 {
				if err := s.Withdraw(t.Context(), res); err != nil {
					t.Fatalf("withdraw %d: %v", run+1, err)
				}
				if err := s.WithdrawAttestation(t.Context(), d, a); err != nil {
					t.Fatalf("withdraw %d: %v", run+1, err)
				}
			}
			legacy, simple := stored(t, reg, d)
			bundles := bundleReferrers(t, reg, d)
			atts := attestations(t, reg, d, pt)
			if legacy != 1 || simple != 1 || len(bundles) != 1 || len(atts) != 1 {
				t.Fatalf("left %d legacy signatures, %d simple-signing referrers, %d bundles, %d attestations; want the other signer's one of each",
					legacy, simple, len(bundles), len(atts))
			}
			if got, want := d.Context().Digest(bundles[0].Descriptor.Digest.String()).String(), otherRes.Layouts[2].Ref; got != want {
				t.Errorf("the bundle left is %s, want the other signer's %s", got, want)
			}
			if got := d.Context().Digest(atts[0].Descriptor.Digest.String()).String(); got != otherAtt.Ref {
				t.Errorf("the attestation left is %s, want the other signer's %s", got, otherAtt.Ref)
			}
		})
	}
}

// TestWithdrawDeleteRefused: on a registry that refuses manifest DELETEs
// a withdrawn bundle stays where the referrers API lists it, and the
// error names it; without the API it leaves the fallback index (its
// manifest stays, unlisted) and the withdrawal succeeds.
func TestWithdrawDeleteRefused(t *testing.T) {
	for _, referrers := range []bool{false, true} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			upstream := signertest.NewRegistry(t, referrers)
			u, err := url.Parse("http://" + upstream.Host)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(u)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete {
					refuseDelete(w)
					return
				}
				proxy.ServeHTTP(w, r)
			})
			host, d, orig := imageBehind(t, upstream, h)
			s := regSignerFormat(t, host, "ours", "", true)
			res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Withdraw(t.Context(), res)
			left := bundleReferrers(t, upstream, orig)
			if !referrers {
				if err != nil || len(left) != 0 {
					t.Fatalf("without the referrers API: %v, %d bundles listed; want ours unlisted", err, len(left))
				}
				return
			}
			var we *signer.WithdrawError
			if !errors.As(err, &we) || !errors.Is(err, signer.ErrDeleteRefused) || !slices.Equal(we.Left, []string{res.Layouts[0].Ref}) {
				t.Fatalf("want a WithdrawError naming %s, the registry refusing to delete; got %v", res.Layouts[0].Ref, err)
			}
			if len(left) != 1 {
				t.Errorf("%d bundles listed, want ours, which the registry kept", len(left))
			}
		})
	}
}

// withdrawSigner signs with its own key (label) in both simple-signing
// layouts and as a bundle, into host.
func withdrawSigner(t *testing.T, host, label string) *signer.Signer {
	t.Helper()
	kp := signertest.Keys(t, label)
	reg := registry.New(registry.Config{Insecure: []string{host}})
	s, err := signer.New(t.Context(), signer.Options{RemoteOptions: reg.RemoteOptions(t.Context()), ShortestRoundTrip: reg.ShortestRoundTrip,
		Mode: signer.ModeBoth, Bundle: true, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWithdrawConcurrent: two withdrawals from one fallback index (a
// signature and an attestation of one digest, on a registry without the
// referrers API, as a failed pool release rolls back in parallel): the
// attestation's withdrawal unlists and deletes its manifest between the
// signature's read of the index and its write, which the registry then
// refuses (the index lists a manifest that is gone). The signature's
// withdrawal reads the index again and succeeds: nothing stays listed.
func TestWithdrawConcurrent(t *testing.T) {
	upstream := signertest.NewRegistry(t, false)
	u, err := url.Parse("http://" + upstream.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var armed atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	var fallbackPath string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold the first write of the fallback index once armed: the
		// signature's withdrawal, after its read.
		if r.Method == http.MethodPut && fallbackPath != "" && strings.HasSuffix(r.URL.Path, fallbackPath) && armed.CompareAndSwap(true, false) {
			close(held)
			<-release
		}
		proxy.ServeHTTP(w, r)
	})
	pt := layout.PredicateTypeSLSAProvenance1
	host, d, orig := imageBehind(t, upstream, h)
	fallbackPath = "/manifests/" + signer.FallbackTag(d).TagStr()
	s := regSignerFormat(t, host, "ours", "", true)
	res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Attest(t.Context(), signer.Subject{Digest: d}, pt, provenancePredicate("https://ci.example/ours"))
	if err != nil {
		t.Fatal(err)
	}
	if sigs, atts := len(bundleReferrers(t, upstream, orig)), len(attestations(t, upstream, orig, pt)); sigs != 1 || atts != 1 {
		t.Fatalf("%d signature bundles and %d attestations listed, want one of each", sigs, atts)
	}
	armed.Store(true)
	done := make(chan error, 1)
	go func() { done <- s.Withdraw(t.Context(), res) }()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the signature's withdrawal ended without writing the fallback index: %v", err)
	}
	if err := s.WithdrawAttestation(t.Context(), d, a); err != nil {
		t.Fatalf("withdrawing the attestation: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("withdrawing the signature after the attestation's withdrawal changed the index: %v", err)
	}
	if sigs, atts := len(bundleReferrers(t, upstream, orig)), len(attestations(t, upstream, orig, pt)); sigs != 0 || atts != 0 {
		t.Errorf("%d signature bundles and %d attestations still listed, want none", sigs, atts)
	}
}
