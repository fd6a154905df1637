package signer_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestAttestUploadRetriesRunOut is TestSignUploadRetriesRunOut for Attest:
// the bundle's blob-upload POSTs fail with 503 more times than the
// transport's retries of one upload (uploadTries here) absorb, or with
// 403. The empty config is stored beforehand, so the bundle is the only
// blob uploaded. A transient run of failures must not fail the
// attestation; a refusal must, after one POST.
func TestAttestUploadRetriesRunOut(t *testing.T) {
	const uploadTries = 3
	tests := []struct {
		name    string
		fault   faultproxy.Fault
		fail    int64 // blob-upload POSTs failed, from the first
		wantErr bool
	}{
		{"transient failures outlast one upload's retries", faultproxy.Unavailable, 2*uploadTries + 1, false},
		{"refused: not uploaded again", faultproxy.Refused, 1 << 20, true},
	}
	for _, referrers := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(signertest.Name(referrers)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				upstream := signertest.NewRegistry(t, referrers)
				var failed, posts atomic.Int64
				p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Pick: func(r *http.Request) faultproxy.Fault {
					if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
						return ""
					}
					posts.Add(1)
					if failed.Add(1) <= tt.fail {
						return tt.fault
					}
					return ""
				}})
				if err != nil {
					t.Fatal(err)
				}
				_, digest, orig := imageBehind(t, upstream, p)
				empty := static.NewLayer([]byte(layout.EmptyJSON), types.MediaType(layout.EmptyMediaType))
				if err := remote.WriteLayer(orig.Context(), empty, upstream.Options...); err != nil {
					t.Fatal(err)
				}
				kp := signertest.Keys(t, "a")
				s, err := signer.New(t.Context(), signer.Options{Bundle: true, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
					RemoteOptions: []remote.Option{
						remote.WithRetryBackoff(remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: uploadTries}),
						remote.WithRetryStatusCodes(http.StatusServiceUnavailable),
					}})
				if err != nil {
					t.Fatal(err)
				}
				pt := layout.PredicateTypeSLSAProvenance1
				_, err = s.Attest(t.Context(), signer.Subject{Digest: digest}, pt, provenancePredicate("https://ci.example/jobs/1"))
				switch {
				case tt.wantErr && err == nil:
					t.Fatalf("attesting succeeded with every blob upload refused")
				case tt.wantErr && posts.Load() != 1:
					t.Errorf("%d blob-upload POSTs with uploads refused, want 1: %v", posts.Load(), err)
				case tt.wantErr:
					return
				case err != nil:
					t.Fatalf("attest with the first %d blob-upload POSTs failed (%d POSTs): %v", tt.fail, posts.Load(), err)
				}
				if n := len(attestations(t, upstream, orig, pt)); n != 1 {
					t.Errorf("%d attestations stored, want 1", n)
				}
			})
		}
	}
}
