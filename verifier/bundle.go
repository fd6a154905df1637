package verifier

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark/layout"
)

// errNotSignature marks a bundle that is not a signature (an attestation):
// it is skipped, not counted.
var errNotSignature = errors.New("not a signature")

// checkBundle returns the signing statement of a bundle signature, or
// errNotSignature for a bundle of another predicate type, or why it fails
// the policy. The checks before sigstore-go's only name the first reason
// a bundle fails; acceptance is always sigstore-go's (certificate chain,
// SCTs, timestamps, tlog entries, signature, identity, artifact digest).
func (c *checker) checkBundle(b *sgbundle.Bundle) (*layout.SignStatement, *CheckError, error) {
	st, cerr, err := c.readStatement(b)
	if cerr != nil || err != nil {
		return nil, cerr, err
	}
	if st.Digest != c.digest {
		return nil, &CheckError{Check: CheckDigest, Want: c.digest.String(), Got: st.Digest.String(),
			Err: errors.New("signature is for another image")}, nil
	}
	if cerr := c.checkBundleSigner(b); cerr != nil {
		return nil, cerr, nil
	}
	if cerr := c.checkAnnotationValues(st.Annotations); cerr != nil {
		return nil, cerr, nil
	}
	if cerr := c.verifyBundle(b); cerr != nil {
		return nil, cerr, nil
	}
	return st, nil, nil
}

// readStatement reads the in-toto statement from the bundle's DSSE
// envelope.
func (c *checker) readStatement(b *sgbundle.Bundle) (*layout.SignStatement, *CheckError, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, &CheckError{Check: CheckPayload, Err: errors.New("the bundle holds no DSSE envelope")}, nil
	}
	if env.GetPayloadType() != layout.InTotoPayloadType {
		return nil, &CheckError{Check: CheckPayload, Want: layout.InTotoPayloadType, Got: env.GetPayloadType(),
			Err: errors.New("the envelope's payload is not an in-toto statement")}, nil
	}
	if pt := layout.StatementPredicateType(env.GetPayload()); pt != "" && pt != layout.PredicateTypeSign {
		return nil, nil, fmt.Errorf("%w: predicate type %s", errNotSignature, pt)
	}
	_, st, err := layout.ParseStatement(env.GetPayload())
	if err != nil {
		return nil, &CheckError{Check: CheckPayload, Err: err}, nil
	}
	return &st, nil, nil
}

// checkBundleSigner checks who signed, before sigstore-go does, to name
// the check: a key-signed bundle for a key, a certificate's issuer and
// subject for an identity.
func (c *checker) checkBundleSigner(b *sgbundle.Bundle) *CheckError {
	vc, err := b.VerificationContent()
	if err != nil {
		return &CheckError{Check: CheckCertificate, Err: err}
	}
	cert := vc.Certificate()
	if !c.policy.keyless() {
		if cert != nil {
			return &CheckError{Check: CheckKey, Err: errors.New("the bundle is signed with a certificate, not a key")}
		}
		return nil
	}
	if cert == nil {
		return &CheckError{Check: CheckCertificate, Err: errors.New("no certificate in the bundle (signed with a key?)")}
	}
	return c.checkIdentity(cert)
}

// verifyBundle runs sigstore-go's verification: with the signing time
// from the bundle's timestamps when it has any that can be checked,
// otherwise (keyless) with the current time.
func (c *checker) verifyBundle(b *sgbundle.Bundle) *CheckError {
	bv := c.bundles
	v, observed := bv.now, false
	if !bv.keyed && bv.hasObserverTimestamps(b) {
		v, observed = bv.observed, true
	}
	digest, err := hex.DecodeString(c.digest.Hex)
	if err != nil {
		return &CheckError{Check: CheckDigest, Err: err}
	}
	_, err = v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest(c.digest.Algorithm, digest), bv.policy...))
	if err == nil {
		return nil
	}
	check := classifyBundle(err, bv.keyed)
	if check == CheckCertificate {
		err = certificateReason(b, observed, err)
	}
	return &CheckError{Check: check, Err: oneLine(err)}
}

// certificateReason says why sigstore-go refused a bundle's certificate,
// which it only reports as "leaf certificate verification failed".
func certificateReason(b *sgbundle.Bundle, observed bool, err error) error {
	vc, verr := b.VerificationContent()
	if verr != nil || vc.Certificate() == nil {
		return err
	}
	cert := vc.Certificate()
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case observed:
		return fmt.Errorf("certificate (valid %s to %s) not valid when timestamped, or not issued by a trusted Fulcio CA: %w",
			at(cert.NotBefore), at(cert.NotAfter), err)
	case time.Now().After(cert.NotAfter):
		return fmt.Errorf("certificate expired at %s and no trusted timestamp (RFC 3161 or Rekor) vouches for an earlier signing time: %w",
			at(cert.NotAfter), err)
	}
	return fmt.Errorf("certificate not issued by a trusted Fulcio CA: %w", err)
}

// hasObserverTimestamps reports whether b has an RFC 3161 timestamp and a
// timestamp authority is trusted, or a Rekor v1 entry whose integrated
// time its inclusion promise vouches for and the log is checked (Rekor v2
// entries have no integrated time).
func (bv *bundleVerifier) hasObserverTimestamps(b *sgbundle.Bundle) bool {
	if ts, err := b.Timestamps(); bv.tsa && err == nil && len(ts) > 0 {
		return true
	}
	if !bv.tlog {
		return false
	}
	entries, err := b.TlogEntries()
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IntegratedTime().IsZero() && e.HasInclusionPromise() {
			return true
		}
	}
	return false
}

// classifyBundle names the check behind an error from sigstore-go's
// Verifier.Verify, by the step it names.
func classifyBundle(err error, keyed bool) Check {
	msg := err.Error()
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case has("failed to verify log inclusion"):
		return CheckTlog
	case has("failed to verify timestamps"), has("must provide timestamp"):
		return CheckTimestamp
	case has("failed to verify signed certificate timestamp"), has("SCTs required"):
		return CheckSCT
	case has("failed to verify leaf certificate"), has("failed to summarize certificate"):
		return CheckCertificate
	case has("expected key signature"), has("public key validity window"):
		return CheckKey
	case has("failed to verify certificate identity"):
		if has("issuer") {
			return CheckIssuer
		}
		return CheckIdentity
	case has("failed to get signature verifier"), has("failed to verify signature"):
		if keyed {
			return CheckKey
		}
		return CheckSignature
	}
	return CheckOther
}

// oneLine joins a multi-line error (errors.Join) into one line.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, "\n", "; "))
}
