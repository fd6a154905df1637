package signer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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

// uploadTries is how many times the upload-fault tests let the transport
// send a request.
const uploadTries = 3

// uploadFaults are the upload-fault tests' cases: the first blob-upload
// POSTs fail, transiently or for good.
var uploadFaults = []struct {
	name    string
	fault   faultproxy.Fault
	fail    int64 // blob-upload POSTs failed, from the first
	wantErr bool
}{
	// Two uploads at most run at once: 2*uploadTries+1 failures run at
	// least one out of its transport retries.
	{"transient failures outlast one upload's retries", faultproxy.Unavailable, 2*uploadTries + 1, false},
	{"refused: not uploaded again", faultproxy.Refused, 1 << 20, true},
}

// TestSignUploadRetriesRunOut fails the first blob-upload POSTs of a
// signing with 503 — more than the transport's retries of one upload
// (uploadTries) can absorb, or a 403 — in each signature format on
// both registries. A transient run of failures must not fail the
// signing (a blob is content-addressed: uploading it again is safe); a
// refusal must, after one POST per upload.
func TestSignUploadRetriesRunOut(t *testing.T) {
	formats := []struct {
		name    string
		bundle  bool
		mode    signer.Mode
		uploads int // blobs uploaded before one refused ends the signing
	}{{"legacy", false, signer.ModeLegacy, 1}, {"oci-1-1", false, signer.ModeOCI11, 2}, {"bundle", true, "", 2}}
	for _, referrers := range []bool{false, true} {
		for _, f := range formats {
			for _, tt := range uploadFaults {
				t.Run(signertest.Name(referrers)+"/"+f.name+"/"+tt.name, func(t *testing.T) {
					t.Parallel()
					upstream := signertest.NewRegistry(t, referrers)
					digest, orig, posts := failingUploads(t, upstream, tt.fault, tt.fail)
					kp := signertest.Keys(t, "a")
					s, err := signer.New(t.Context(), signer.Options{RemoteOptions: fewRetries(uploadTries), Mode: f.mode, Bundle: f.bundle,
						Key: kp.Private, Password: kp.Password, SkipTlogUpload: true})
					if err != nil {
						t.Fatal(err)
					}
					_, err = s.Sign(t.Context(), signer.Subject{Digest: digest}, map[string]string{"tag": "v1"})
					switch {
					case tt.wantErr && err == nil:
						t.Fatalf("signing succeeded with every blob upload refused")
					case tt.wantErr && posts.Load() != int64(f.uploads):
						t.Errorf("%d blob-upload POSTs with uploads refused, want %d (one per upload): %v", posts.Load(), f.uploads, err)
					case tt.wantErr:
						return
					case err != nil:
						t.Fatalf("sign with the first %d blob-upload POSTs failed (%d POSTs): %v", tt.fail, posts.Load(), err)
					}
					l, r := stored(t, upstream, orig)
					b := len(bundleReferrers(t, upstream, orig))
					if f.mode == signer.ModeLegacy && l != 1 || f.mode == signer.ModeOCI11 && r != 1 || f.bundle && b != 1 {
						t.Errorf("stored: legacy %d, referrers %d, bundles %d; want one in %s", l, r, b, f.name)
					}
				})
			}
		}
	}
}

// failingUploads pushes a new image to upstream behind a proxy that
// answers its first fail blob-upload POSTs with fault; it returns the
// image's digest through the proxy and on upstream, and the count of
// blob-upload POSTs.
func failingUploads(t *testing.T, upstream *signertest.Registry, fault faultproxy.Fault, fail int64) (d, orig name.Digest, posts *atomic.Int64) {
	t.Helper()
	posts = new(atomic.Int64)
	p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Pick: func(r *http.Request) faultproxy.Fault {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
			return ""
		}
		if posts.Add(1) <= fail {
			return fault
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, d, orig = imageBehind(t, upstream, p)
	return d, orig, posts
}

// fewRetries are remote options retrying a 503 quickly, tries times in
// all per request.
func fewRetries(tries int) []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: tries}),
		remote.WithRetryStatusCodes(http.StatusServiceUnavailable),
	}
}

// imageBehind pushes a new image to upstream and serves h (a proxy to
// upstream) until the test ends; it returns h's host, the image's digest
// through it, and on upstream itself.
func imageBehind(t *testing.T, upstream *signertest.Registry, h http.Handler) (host string, d, orig name.Digest) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	orig = upstream.Image(t, "app")
	d, err := name.NewDigest(host+"/"+orig.RepositoryStr()+"@"+orig.DigestStr(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return host, d, orig
}
