package signer

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// CertificateIdentity returns the subject (the first SAN) and OIDC issuer
// of the signing certificate; ok is false when signing with a bare key.
func (s *Signer) CertificateIdentity() (subject, issuer string, ok bool) {
	if s.key.cert == nil {
		return "", "", false
	}
	sans := cryptoutils.GetSubjectAlternateNames(s.key.cert)
	if len(sans) == 0 {
		return "", certIssuer(s.key.cert), true
	}
	return sans[0], certIssuer(s.key.cert), true
}

// CertificateExpiry returns when the signing certificate expires; ok is
// false without a certificate.
func (s *Signer) CertificateExpiry() (notAfter time.Time, ok bool) {
	if s.key.cert == nil {
		return time.Time{}, false
	}
	return s.key.cert.NotAfter, true
}

// PublicKey returns the public half of the signing key.
func (s *Signer) PublicKey() (crypto.PublicKey, error) {
	pk, err := s.key.sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading the signer's public key: %w", err)
	}
	return pk, nil
}

// CheckToken refuses an identity token that is malformed, expired, or not
// for audience ("" means "sigstore"), without sending it anywhere. The
// error is a *TokenError and never contains the token.
func CheckToken(raw, audience string) error {
	if audience == "" {
		audience = DefaultTokenAudience
	}
	_, _, err := checkToken(raw, audience, time.Now())
	return err
}

// Certificate returns the signing certificate (keyless: Fulcio's); nil
// for a key without one.
func (s *Signer) Certificate() *x509.Certificate { return s.key.cert }
