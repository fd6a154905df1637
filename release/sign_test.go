package release

import (
	"errors"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestSignThenVerify checks when a release verifies a digest: alongside the
// signer's read-backs once the signature is stored; again after signing
// only when that failed and the signer had to write again (or stored was
// never called); never when signing failed. The signer and verifier are
// stood in by functions here: the e2e release tests run the real ones.
func TestSignThenVerify(t *testing.T) {
	errVerify := errors.New("no matching signatures")
	errSign := errors.New("registry refused the write")
	once := &signer.Result{Layouts: []signer.Written{{Attempts: 1}}}
	again := &signer.Result{Layouts: []signer.Written{{Attempts: 2}}}
	tests := []struct {
		name         string
		notify       bool           // the signer calls stored
		res          *signer.Result // what signing returns
		signErr      error
		verifyErrs   []error // each verification's outcome, in order
		wantCalls    int
		wantErr      error // signThenVerify's
		wantVerify   error // the verification reported
		wantVerified bool
	}{
		{"verified alongside the read-backs", true, once, nil, []error{nil}, 1, nil, nil, true},
		{"failed, nothing rewritten: the failure stands", true, once, nil, []error{errVerify}, 1, nil, errVerify, false},
		{"failed while the signature was rewritten: verified again", true, again, nil, []error{errVerify, nil}, 2, nil, nil, true},
		{"rewritten but verified: not again", true, again, nil, []error{nil}, 1, nil, nil, true},
		{"signing failed after storing", true, nil, errSign, []error{nil}, 1, errSign, nil, false},
		{"signing failed before storing", false, nil, errSign, nil, 0, errSign, nil, false},
		{"never notified: verified after", false, once, nil, []error{nil}, 1, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			verify := func() (*verifier.Result, error) {
				err := tt.verifyErrs[calls]
				calls++
				if err != nil {
					return nil, err
				}
				return &verifier.Result{}, nil
			}
			sign := func(stored func()) (*signer.Result, error) {
				if tt.notify {
					stored()
				}
				return tt.res, tt.signErr
			}
			res, v, err := signThenVerify(sign, verify)
			if !errors.Is(err, tt.wantErr) || err == nil && res != tt.res {
				t.Fatalf("signThenVerify = %v, %v; want %v, %v", res, err, tt.res, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("verified %d times, want %d", calls, tt.wantCalls)
			}
			if !errors.Is(v.err, tt.wantVerify) || (v.res != nil) != tt.wantVerified {
				t.Errorf("verification = %v, %v; want error %v, a result: %v", v.res, v.err, tt.wantVerify, tt.wantVerified)
			}
		})
	}
}
