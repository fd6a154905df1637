package signer_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestSignWithTransientFaults pushes, signs and verifies through a proxy that
// answers 20% of registry requests with 429/5xx, with retries configured
// as the registry package does (faster), in each simple-signing mode and
// as a bundle.
func TestSignWithTransientFaults(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		for _, mode := range append(slices.Clone(signer.Modes), "bundle") {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), mode), func(t *testing.T) {
				upstream := signertest.NewRegistry(t, referrers)
				p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Rate: 0.2, Seed: 7,
					Faults: []faultproxy.Fault{faultproxy.TooManyRequests, faultproxy.InternalServerError, faultproxy.BadGateway, faultproxy.Unavailable}})
				if err != nil {
					t.Fatal(err)
				}
				addr, stop, err := p.Serve()
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				reg := &signertest.Registry{Host: addr, Referrers: referrers, Options: []remote.Option{
					remote.WithRetryBackoff(remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 8}),
					remote.WithRetryStatusCodes(http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable),
				}}
				digest := reg.Image(t, "app")
				if mode == "bundle" {
					res, err := bundleSigner(t, reg, nil, identity{false, "a"}, "").Sign(t.Context(), signer.Subject{Digest: digest}, map[string]string{"tag": "v1"})
					if err != nil {
						t.Fatalf("sign with %d faults in %d requests: %v", p.Faults(), len(p.Requests()), err)
					}
					if err := verifyBundle(t, res.Bundle, nil, identity{false, "a"}, digest, map[string]string{"tag": "v1"}); err != nil {
						t.Fatal(err)
					}
					if n := len(bundleReferrers(t, reg, digest)); n != 1 {
						t.Fatalf("%d bundles stored", n)
					}
					t.Logf("%d faults injected in %d requests", p.Faults(), len(p.Requests()))
					return
				}
				s := keyedSigner(t, reg, mode, "a")
				if _, err := s.Sign(context.Background(), signer.Subject{Digest: digest}, map[string]string{"tag": "v1"}); err != nil {
					t.Fatalf("sign with %d faults in %d requests: %v", p.Faults(), len(p.Requests()), err)
				}
				if _, err := verifier.Verify(context.Background(), digest, verifier.Options{
					RemoteOptions: reg.Options,
					Policy:        verifier.Policy{Key: signertest.Keys(t, "a").Public, Annotations: map[string]string{"tag": "v1"}},
					Trust:         verifier.Trust{IgnoreTlog: true},
				}); err != nil {
					t.Fatal(err)
				}
				t.Logf("%d faults injected in %d requests", p.Faults(), len(p.Requests()))
			})
		}
	}
}
