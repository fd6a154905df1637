package signer_test

import (
	"testing"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestAttestUploadRetriesRunOut is TestSignUploadRetriesRunOut for Attest:
// the bundle's blob-upload POSTs fail with 503 more times than the
// transport's retries of one upload (uploadTries) absorb, or with
// 403. The empty config is stored beforehand, so the bundle is the only
// blob uploaded. A transient run of failures must not fail the
// attestation; a refusal must, after one POST.
func TestAttestUploadRetriesRunOut(t *testing.T) {
	for _, referrers := range []bool{false, true} {
		for _, tt := range uploadFaults {
			t.Run(signertest.Name(referrers)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				upstream := signertest.NewRegistry(t, referrers)
				digest, orig, posts := failingUploads(t, upstream, tt.fault, tt.fail)
				storeEmptyConfig(t, upstream, orig.Context())
				kp := signertest.Keys(t, "a")
				s, err := signer.New(t.Context(), signer.Options{Bundle: true, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
					RemoteOptions: fewRetries(uploadTries)})
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
