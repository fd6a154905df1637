package release

import (
	"context"
	"fmt"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/signer"
)

// ServicesObserver is an Observer that also hears the Sigstore checks Run
// makes before it builds (warnings included: a check that passed with a
// caveat). Observers without it see only a failure, as Run's error.
type ServicesObserver interface {
	ServicesChecked(doctor.Report)
}

// checkServices runs doctor's Sigstore checks (OIDC issuer, Fulcio, CT
// log, Rekor, TSA, the insecure flags' coherence) on the signer and trust
// options, before anything is built or pushed: a log or TSA that cannot be
// reached, or a trust that cannot verify what will be signed, fails the
// release with nothing pushed.
func checkServices(ctx context.Context, o Options, obs Observer) error {
	so := o.Signer
	so.HTTPTimeout = doctor.DefaultTimeout
	hc, err := signer.ServiceClient(so)
	if err != nil {
		return StageError(StageSign, err)
	}
	r := doctor.Sigstore(ctx, doctor.Options{Signer: o.Signer, Verify: o.Trust, HTTPClient: hc})
	if so, ok := obs.(ServicesObserver); ok {
		so.ServicesChecked(r)
	}
	if err := r.Err(); err != nil {
		return StageError(StageSign, fmt.Errorf("checking the Sigstore services before the build, nothing pushed: %w", err))
	}
	return nil
}
