package signer

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// matcher recognises a stored signature equivalent to the one this signer
// would write: same digest, same annotations, made by the same key (or a
// certificate for the same identity from the same CA), with at least the
// timestamp and transparency-log evidence this signer would attach.
type matcher struct {
	digest        string
	annotations   map[string]string
	s             *Signer
	roots, inters *x509.CertPool
}

func (s *Signer) matcher(digest name.Digest, annotations map[string]string) *matcher {
	m := &matcher{digest: digest.DigestStr(), annotations: annotations, s: s}
	if s.o.keyless() && len(s.key.chain) > 0 {
		m.roots, m.inters = x509.NewCertPool(), x509.NewCertPool()
		m.roots.AddCert(s.key.chain[len(s.key.chain)-1])
		for _, c := range s.key.chain[:len(s.key.chain)-1] {
			m.inters.AddCert(c)
		}
	}
	return m
}

// equivalent reports whether sig makes a new signature unnecessary.
func (m *matcher) equivalent(sig oci.Signature) bool {
	payload, err := sig.Payload()
	if err != nil || !m.samePayload(payload) {
		return false
	}
	raw, err := sig.Signature()
	if err != nil {
		return false
	}
	cert, err := sig.Cert()
	if err != nil {
		return false
	}
	if !m.evidence(sig, cert, payload, raw) {
		return false
	}
	v := m.verifierFor(cert, false)
	return v != nil && v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(payload)) == nil
}

// verifierFor returns the verifier of a stored signature carrying cert
// (nil: none) when this signer could have made it — a certificate for the
// same identity from the same CA (keyless), or this signer's key, with the
// certificate it attaches when it has one — and nil otherwise. keyHintOnly
// also refuses a certificate on a signature this signer makes with its
// key's hint alone (a bundle of a key without a certificate).
func (m *matcher) verifierFor(cert *x509.Certificate, keyHintOnly bool) signature.Verifier {
	switch {
	case m.s.o.keyless():
		return m.sameIdentity(cert)
	case m.s.key.cert != nil && (cert == nil || !bytes.Equal(cert.Raw, m.s.key.cert.Raw)):
		return nil
	case keyHintOnly && m.s.key.cert == nil && cert != nil:
		return nil
	}
	return m.s.key.sv
}

func (m *matcher) samePayload(payload []byte) bool {
	var p sigpayload.SimpleContainerImage
	if err := json.Unmarshal(payload, &p); err != nil {
		return false
	}
	if p.Critical.Type != sigpayload.CosignSignatureType || p.Critical.Image.DockerManifestDigest != m.digest {
		return false
	}
	if len(p.Optional) != len(m.annotations) {
		return false
	}
	for k, want := range m.annotations {
		if got, ok := p.Optional[k].(string); !ok || got != want {
			return false
		}
	}
	return true
}

// evidence checks the stored signature carries what this signer would
// add, about this signature (its raw bytes over payload), and that a
// keyless one is still verifiable.
func (m *matcher) evidence(sig oci.Signature, cert *x509.Certificate, payload, raw []byte) bool {
	ts, err := sig.RFC3161Timestamp()
	if err != nil || (m.s.o.TimestampServerURL != "" && ts == nil) {
		return false
	}
	if ts != nil && !timestampCovers(ts.SignedRFC3161Timestamp, raw) {
		return false
	}
	b, err := sig.Bundle()
	if err != nil || (!m.s.o.SkipTlogUpload && b == nil) {
		return false
	}
	if b != nil && !tlogCovers(sig, payload, base64.StdEncoding.EncodeToString(raw)) {
		return false
	}
	if m.s.o.keyless() && ts == nil && b == nil {
		// Without a timestamp it only verifies while the certificate is valid.
		return cert != nil && time.Now().Add(time.Minute).Before(cert.NotAfter)
	}
	return true
}

// sameIdentity returns a verifier for cert when it names the same subject
// and issuer as this signer's certificate and chains to the same CA.
func (m *matcher) sameIdentity(cert *x509.Certificate) signature.Verifier {
	if cert == nil || m.roots == nil {
		return nil
	}
	mine := m.s.key.cert
	if !slices.Equal(cryptoutils.GetSubjectAlternateNames(cert), cryptoutils.GetSubjectAlternateNames(mine)) ||
		certIssuer(cert) != certIssuer(mine) {
		return nil
	}
	// Fulcio may put the SAN in an OtherName Go does not handle; cosign
	// drops that critical extension before chain verification too.
	cert.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(cert.UnhandledCriticalExtensions),
		func(oid asn1.ObjectIdentifier) bool { return oid.Equal(cryptoutils.SANOID) })
	if _, err := cosign.TrustedCert(cert, m.roots, m.inters); err != nil {
		return nil
	}
	v, err := signature.LoadVerifier(cert.PublicKey, crypto.SHA256)
	if err != nil {
		return nil
	}
	return v
}

// certIssuer returns the OIDC issuer Fulcio recorded in cert.
func certIssuer(cert *x509.Certificate) string {
	return (&cosign.CertExtensions{Cert: cert}).GetIssuer()
}
