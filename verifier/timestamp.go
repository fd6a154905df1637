package verifier

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

// checkTimestamp verifies a signature's RFC 3161 timestamp against the
// trusted root's timestamp authorities before cosign does: cosign 2.6.5
// indexes an empty list of verified timestamps, and panics, when none of
// them verifies it (e.g. a signature timestamped by another TSA).
func (c *checker) checkTimestamp(sig oci.Signature) *CheckError {
	if c.co.TrustedMaterial == nil || !c.co.UseSignedTimestamps {
		return nil
	}
	ts, err := sig.RFC3161Timestamp()
	if err != nil {
		return &CheckError{Check: CheckTimestamp, Err: err}
	}
	if ts == nil {
		return nil // cosign then checks the certificate against the current time
	}
	b64, err := sig.Base64Signature()
	if err != nil {
		return &CheckError{Check: CheckTimestamp, Err: err}
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return &CheckError{Check: CheckTimestamp, Err: err}
	}
	err = errors.New("the trusted root lists no timestamp authority")
	for _, tsa := range c.co.TrustedMaterial.TimestampingAuthorities() {
		if _, err = tsa.Verify(ts.SignedRFC3161Timestamp, raw); err == nil {
			return nil
		}
	}
	return &CheckError{Check: CheckTimestamp, Err: fmt.Errorf("RFC 3161 timestamp not from a timestamp authority of the trusted root (%w)", err)}
}

// verifyWithCosign runs cosign's verification of one signature, turning a
// panic inside cosign into that signature's failure.
func verifyWithCosign(ctx context.Context, sig oci.Signature, h v1.Hash, co *cosign.CheckOpts) (bundle bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			bundle, err = false, fmt.Errorf("cosign failed on this signature: %v", r)
		}
	}()
	return cosign.VerifyImageSignature(ctx, sig, h, co)
}
