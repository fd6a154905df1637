package signer

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"maps"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
)

// equivalentBundle reports whether a stored bundle (JSON) makes a new one
// unnecessary: a valid bundle v0.3 with a DSSE envelope of the signing
// statement for the same digest with the same annotations, made by the
// same key (or a certificate for the same identity from the same CA),
// with at least the timestamp and transparency-log evidence this signer
// would attach, whose signature verifies.
func (m *matcher) equivalentBundle(raw []byte) bool {
	return m.equivalentEnvelope(raw, func(payload []byte) bool {
		pt, st, err := layout.ParseStatement(payload)
		return err == nil && pt == layout.PredicateTypeSign && st.Digest.String() == m.digest && maps.Equal(st.Annotations, m.annotations)
	})
}

// equivalentAttestation reports whether a stored bundle (JSON) makes a new
// attestation unnecessary: as equivalentBundle, with a DSSE envelope of an
// in-toto statement about the same digest with the same predicate type
// and the same predicate, byte for byte (but for surrounding white space,
// which a statement does not keep).
func (m *matcher) equivalentAttestation(raw []byte, predicateType string, predicate []byte) bool {
	return m.equivalentEnvelope(raw, func(payload []byte) bool {
		st, err := layout.ParseAttestation(payload)
		return err == nil && st.PredicateType == predicateType && st.Digest.String() == m.digest && bytes.Equal(st.Predicate, bytes.TrimSpace(predicate))
	})
}

// equivalentEnvelope reports whether raw is a valid bundle v0.3 with a
// DSSE envelope of one in-toto statement that statementOK accepts, made
// by this signer's key or identity, with the evidence this signer would
// attach, whose signature verifies: only what verifies counts as already
// there.
func (m *matcher) equivalentEnvelope(raw []byte, statementOK func(payload []byte) bool) bool {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return false
	}
	// A keyed signer with a certificate chain writes the chain, as cosign
	// v3 does, which bundles v0.3 otherwise may not hold.
	b, err := bundle.NewBundle(&pb, bundle.AllowCertificateChain())
	if err != nil || !b.MinVersion("v0.3") {
		return false
	}
	env := pb.GetDsseEnvelope()
	if env == nil || env.GetPayloadType() != layout.InTotoPayloadType || len(env.GetSignatures()) != 1 {
		return false
	}
	if !statementOK(env.GetPayload()) {
		return false
	}
	cert, ok := bundleCert(&pb)
	if !ok || !m.bundleEvidence(&pb, cert, env.GetSignatures()[0].GetSig()) {
		return false
	}
	v := m.verifierFor(cert, true)
	pae := dssePAE(env.GetPayloadType(), env.GetPayload())
	return v != nil && v.VerifySignature(bytes.NewReader(env.GetSignatures()[0].GetSig()), bytes.NewReader(pae)) == nil
}

// bundleCert returns the bundle's signing certificate (nil for a public
// key hint); ok is false when it does not parse.
func bundleCert(pb *protobundle.Bundle) (*x509.Certificate, bool) {
	vm := pb.GetVerificationMaterial()
	var der []byte
	switch {
	case vm.GetCertificate() != nil:
		der = vm.GetCertificate().GetRawBytes()
	case len(vm.GetX509CertificateChain().GetCertificates()) > 0:
		der = vm.GetX509CertificateChain().GetCertificates()[0].GetRawBytes()
	default:
		return nil, vm.GetPublicKey() != nil
	}
	c, err := x509.ParseCertificate(der)
	return c, err == nil
}

// bundleEvidence checks the bundle carries what this signer would add,
// its timestamps over the envelope's signature sig, and that a keyless one
// is still verifiable.
func (m *matcher) bundleEvidence(pb *protobundle.Bundle, cert *x509.Certificate, sig []byte) bool {
	vm := pb.GetVerificationMaterial()
	for _, t := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		if !timestampCovers(t.GetSignedTimestamp(), sig) {
			return false
		}
	}
	ts := len(vm.GetTimestampVerificationData().GetRfc3161Timestamps())
	tl := len(vm.GetTlogEntries())
	if m.s.o.TimestampServerURL != "" && ts == 0 || !m.s.o.SkipTlogUpload && tl == 0 {
		return false
	}
	if m.s.o.keyless() && ts == 0 && tl == 0 {
		// Without a timestamp it only verifies while the certificate is valid.
		return cert != nil && time.Now().Add(time.Minute).Before(cert.NotAfter)
	}
	return true
}

// dssePAE is DSSE's pre-authentication encoding of an envelope's payload,
// what its signature signs.
func dssePAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}
