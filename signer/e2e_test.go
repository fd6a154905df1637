package signer_test

// End-to-end tests on the test bed's real registries (distribution without
// the referrers API, ggcr's with it) and its Fulcio and TSA. They skip
// without the bed unless CI=true.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

func TestE2EKeyedSignVerify(t *testing.T) {
	bed := signertest.RequireBed(t)
	for _, reg := range bed.Registries {
		for _, mode := range signer.Modes {
			t.Run(signertest.Name(reg.Referrers)+"/"+string(mode), func(t *testing.T) {
				d := reg.Image(t, "hallmark-e2e/signer")
				s := keyedSigner(t, reg, mode, "a")
				ann := map[string]string{"tag": "e2e"}
				res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann)
				if err != nil || !res.Added() {
					t.Fatalf("sign: %v %+v", err, res)
				}
				if again, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann); err != nil || again.Added() {
					t.Fatalf("re-sign: %v added=%v", err, again != nil && again.Added())
				}
				vr, err := verifier.Verify(context.Background(), d, verifier.Options{
					RemoteOptions: reg.Options,
					Policy:        verifier.Policy{Key: signertest.Keys(t, "a").Public, Annotations: ann},
					Trust:         verifier.Trust{IgnoreTlog: true},
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("verified %d signatures: %v", len(vr.Verified), vr.Layouts())
			})
		}
	}
}

// TestE2EConcurrentSigners runs 10 signers of one digest at once on each
// registry; cosign 2.6 keeps 2-7 of 10 on distribution.
func TestE2EConcurrentSigners(t *testing.T) {
	const n = 10
	bed := signertest.RequireBed(t)
	for _, reg := range bed.Registries {
		for _, mode := range signer.Modes {
			t.Run(signertest.Name(reg.Referrers)+"/"+string(mode), func(t *testing.T) {
				d := reg.Image(t, "hallmark-e2e/concurrent")
				s := keyedSigner(t, reg, mode, "a")
				start := time.Now()
				var wg sync.WaitGroup
				errs := make([]error, n)
				rounds := make([]int, n)
				for i := range n {
					wg.Go(func() {
						res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
						errs[i] = err
						if res != nil {
							for _, w := range res.Layouts {
								rounds[i] += w.Attempts
							}
						}
					})
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				l, r := stored(t, reg, d)
				t.Logf("%d signers in %v: legacy %d, referrers %d, write rounds per signer %v", n, time.Since(start).Round(time.Millisecond), l, r, rounds)
				if mode != signer.ModeOCI11 && l != n || mode != signer.ModeLegacy && r != n {
					t.Fatalf("lost signatures: legacy %d, referrers %d of %d", l, r, n)
				}
			})
		}
	}
}

func TestE2EKeyless(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	for _, reg := range bed.Registries {
		for _, mode := range signer.Modes {
			t.Run(signertest.Name(reg.Referrers)+"/"+string(mode), func(t *testing.T) {
				d := reg.Image(t, "hallmark-e2e/keyless")
				s, err := signer.New(context.Background(), signer.Options{
					RemoteOptions: reg.Options, Mode: mode,
					IdentityToken: bed.Token(t, url.Values{"project_path": {"group/app"}}),
					FulcioURL:     bed.FulcioURL, InsecureSkipSCT: true, SkipTlogUpload: true,
					TimestampServerURL: bed.TSAURL,
				})
				if err != nil {
					t.Fatal(err)
				}
				ann := map[string]string{"tag": "e2e"}
				if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann); err != nil {
					t.Fatal(err)
				}
				_, err = verifier.Verify(context.Background(), d, verifier.Options{
					RemoteOptions: reg.Options,
					Policy:        verifier.Policy{Identity: bed.Identity("group/app"), Issuer: bed.Issuer, Annotations: ann},
					Trust:         verifier.Trust{TrustedRoot: bed.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true},
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestE2EConcurrentSignersOverNetwork runs 10 signers of one digest at once
// through a proxy that holds every request to the bed's distribution (no
// referrers API) back 20ms, as a registry across a network, with the
// registry's shortest round trip known to the signer (as hallmark's
// commands pass it): the settle delay then leaves out the network's share
// of the write window, and every signature must still be kept.
func TestE2EConcurrentSignersOverNetwork(t *testing.T) {
	const n = 10
	bed := signertest.RequireBed(t)
	upstream := bed.Registries[0]
	p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Delay: func(*http.Request) time.Duration { return 20 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	reg := registry.New(registry.Config{Insecure: []string{host}})
	for _, mode := range []signer.Mode{signer.ModeLegacy, signer.ModeOCI11, "bundle"} {
		t.Run(string(mode), func(t *testing.T) {
			bundle := mode == "bundle"
			if bundle {
				mode = ""
			}
			orig := upstream.Image(t, "hallmark-e2e/concurrent-network")
			d, err := name.NewDigest(host+"/"+orig.RepositoryStr()+"@"+orig.DigestStr(), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			kp := signertest.Keys(t, "a")
			s, err := signer.New(t.Context(), signer.Options{
				RemoteOptions: reg.RemoteOptions(t.Context()), ShortestRoundTrip: reg.ShortestRoundTrip,
				Mode: mode, Bundle: bundle, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			l, r := stored(t, upstream, orig)
			t.Logf("%d signers in %v (shortest round trip %v): legacy %d, referrers %d", n, time.Since(start).Round(time.Millisecond), reg.ShortestRoundTrip(host), l, r)
			if bundle {
				if b := len(bundleReferrers(t, upstream, orig)); b != n {
					t.Fatalf("lost bundles: %d of %d", b, n)
				}
				return
			}
			if mode == signer.ModeLegacy && l != n || mode == signer.ModeOCI11 && r != n {
				t.Fatalf("lost signatures: legacy %d, referrers %d of %d", l, r, n)
			}
		})
	}
}
