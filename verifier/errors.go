package verifier

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

var (
	// ErrNoSignatures reports that no signature of the digest was found in
	// any layout.
	ErrNoSignatures = errors.New("no signatures")
	// ErrNoPolicy reports a verification request with neither a key nor
	// both an identity and an issuer, which cosign refuses too.
	ErrNoPolicy = errors.New("no verification policy: need {verifier.Policy.Key}, or {verifier.Policy.Identity}(-regexp) and {verifier.Policy.Issuer}(-regexp)")
	// ErrPolicy reports an inconsistent or malformed policy.
	ErrPolicy = errors.New("invalid verification policy")
	// ErrLoad reports a key, certificate, CA or trusted root file (or
	// env:// key) named by the policy or trust settings that cannot be read
	// or parsed: bad input rather than a failed verification.
	ErrLoad = errors.New("cannot load verification material")
)

// loadError marks an error as ErrLoad for errors.Is, keeping its message.
type loadError struct{ err error }

func (e loadError) Error() string        { return e.err.Error() }
func (e loadError) Unwrap() error        { return e.err }
func (e loadError) Is(target error) bool { return target == ErrLoad }

func loadErr(err error) error {
	if err == nil {
		return nil
	}
	return loadError{err}
}

// Check names one check a signature can fail.
type Check string

// The checks, in the order they are made.
const (
	CheckRead        Check = "read"            // a referrer cannot be read (size limit, shape, registry error)
	CheckPayload     Check = "payload"         // not a simple-signing payload, nor a bundle's signing statement
	CheckDigest      Check = "digest"          // the payload names another digest (signature copied)
	CheckKey         Check = "key"             // the signature does not verify with the given key
	CheckCertificate Check = "certificate"     // missing, untrusted or expired certificate
	CheckIssuer      Check = "issuer"          // the certificate's OIDC issuer does not match
	CheckIdentity    Check = "identity"        // the certificate's subject does not match
	CheckWorkflow    Check = "github-workflow" // the certificate's GitHub workflow extensions do not match
	CheckSignature   Check = "signature"       // the signature does not match the payload (tampered)
	CheckAnnotation  Check = "annotation"      // a required annotation is missing or different
	CheckSCT         Check = "sct"             // the certificate's SCT is missing or does not verify
	CheckTimestamp   Check = "timestamp"       // the RFC 3161 timestamp does not verify
	CheckTlog        Check = "tlog"            // the transparency log entry does not verify
	CheckBinding     Check = "binding"         // an annotation disagrees with what the certificate certifies
	CheckOther       Check = "verification"
)

// CheckError says why one signature failed the policy.
type CheckError struct {
	Check  Check
	Layout Layout
	Ref    string // where the signature was found
	Index  int    // its position there (layers of a signature manifest)
	Key    string // the annotation key, for CheckAnnotation
	Want   string // what the policy wants
	Got    string // what the signature has
	Err    error  // the underlying error, if any
}

func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Check))
	if e.Key != "" {
		fmt.Fprintf(&b, " %s", e.Key)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	} else if e.Want != "" || e.Got != "" {
		b.WriteString(":")
	}
	switch {
	case e.Want != "" && e.Got != "" && e.Err != nil:
		fmt.Fprintf(&b, " (want %q, got %q)", e.Want, e.Got)
	case e.Want != "" && e.Err != nil:
		fmt.Fprintf(&b, " (want %q)", e.Want)
	case e.Want != "" || e.Got != "":
		fmt.Fprintf(&b, " want %q, got %q", e.Want, e.Got)
	}
	return b.String()
}

func (e *CheckError) Unwrap() error { return e.Err }

// NoMatchError reports that signatures were found but none satisfies the
// policy; Failures has one entry per signature checked.
type NoMatchError struct {
	Digest   name.Digest
	Failures []*CheckError
}

func (e *NoMatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no signature of %s matches the policy (%d checked)", e.Digest, len(e.Failures))
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "; %s: %v", location(f.Layout, f.Ref, f.Index), f)
	}
	return b.String()
}

// Unwrap returns the failures, so errors.As finds a *CheckError.
func (e *NoMatchError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}

// location names where a signature was found, abbreviating digests.
func location(l Layout, ref string, index int) string {
	for _, p := range []string{"sha256:", "sha256-"} {
		if i := strings.LastIndex(ref, p); i >= 0 && len(ref) >= i+len(p)+64 {
			ref = ref[:i+len(p)+12] + "…" + ref[i+len(p)+64:]
		}
	}
	return fmt.Sprintf("%s %s[%d]", l, ref, index)
}
