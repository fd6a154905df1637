package signer_test

// End-to-end tests on the test bed's real registries (distribution without
// the referrers API, ggcr's with it) and its Fulcio and TSA. They skip
// without the bed unless CI=true.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

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
				res, err := s.Sign(context.Background(), d, ann)
				if err != nil || !res.Added() {
					t.Fatalf("sign: %v %+v", err, res)
				}
				if again, err := s.Sign(context.Background(), d, ann); err != nil || again.Added() {
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
						res, err := s.Sign(context.Background(), d, map[string]string{"writer": fmt.Sprint(i)})
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
				if _, err := s.Sign(context.Background(), d, ann); err != nil {
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
