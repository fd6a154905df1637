package verifier

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sigstore/cosign/v2/pkg/oci"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/hallmark-dev/hallmark/ci"
)

// Binding says which of a verified signature's annotations its
// certificate vouches for. A CI job's Fulcio certificate certifies what
// the CI provider put in the job's OIDC token — the source repository,
// the commit, the ref, the job (ci.Certified) — while any other
// annotation is asserted by the signer alone.
type Binding struct {
	// Bound maps each annotation the certificate certifies with the same
	// value to the certificate field it comes from (e.g.
	// "Source Repository Digest").
	Bound map[string]string
	// SignedOnly are the annotations nothing certifies, sorted: the user
	// name, the pipeline, the tag; every annotation of a key's signature.
	SignedOnly []string
	// Unbound are the annotations the certificate disagrees with, only
	// ever set with Options.AllowUnboundAnnotations.
	Unbound []ci.AnnotationMismatch
}

// bind checks a verified signature's annotations against its certificate
// (nil for a key's signature: nothing is bound). A disagreement fails the
// signature (CheckBinding) unless the policy allows unbound annotations.
func (c *checker) bind(cert *x509.Certificate, annotations map[string]string) (*Binding, *CheckError) {
	var certified ci.Certified
	if cert != nil {
		var err error
		if certified, err = ci.CertifiedByCertificate(cert); err != nil {
			return nil, &CheckError{Check: CheckBinding, Err: err}
		}
	}
	b := &Binding{Bound: map[string]string{}}
	bound, signedOnly, err := certified.Bind(annotations)
	for _, k := range bound {
		b.Bound[k] = certified.Fields[k]
	}
	b.SignedOnly = signedOnly
	var ue *ci.UnboundError
	switch {
	case errors.As(err, &ue) && c.allowUnbound:
		b.Unbound = ue.Mismatches
	case err != nil:
		return nil, &CheckError{Check: CheckBinding,
			Err: fmt.Errorf("%w: the CI provider did not vouch for it (accept with {verifier.Options.AllowUnboundAnnotations})", err)}
	}
	return b, nil
}

// BoundKeys returns the bound annotation keys, sorted.
func (b *Binding) BoundKeys() []string {
	if b == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(b.Bound))
}

// bundleCert is the certificate a bundle is signed with; nil for a key.
func bundleCert(b *sgbundle.Bundle) *x509.Certificate {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil
	}
	return vc.Certificate()
}

// signatureCert is a simple-signing signature's certificate; nil for a
// key.
func signatureCert(sig oci.Signature) *x509.Certificate {
	cert, err := sig.Cert()
	if err != nil {
		return nil
	}
	return cert
}

// payloadAnnotations are a simple-signing payload's "optional" field as
// strings (a value of another JSON type as its JSON).
func payloadAnnotations(sig oci.Signature) map[string]string {
	b, err := sig.Payload()
	if err != nil {
		return nil
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(b, &p); err != nil {
		return nil
	}
	out := make(map[string]string, len(p.Optional))
	for k, v := range p.Optional {
		out[k] = asString(v)
	}
	return out
}
