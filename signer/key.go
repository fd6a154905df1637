package signer

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/internal/keyref"
	"github.com/hallmark-dev/hallmark/internal/limits"
)

// loadSigningKey loads the private key named by o.Key and, when given, the
// certificate (and chain) to attach to its signatures.
func loadSigningKey(ctx context.Context, o *Options) (*signingKey, error) {
	sv, err := loadPrivateKey(ctx, o.Key, o.Password)
	if err != nil {
		return nil, err
	}
	c := &signingKey{sv: sv}
	if o.Certificate == "" {
		return c, nil
	}
	if c.certPEM, err = readCertPEM(o.Certificate); err != nil {
		return nil, badInput(err)
	}
	if err := c.parse(); err != nil {
		return nil, badInput(fmt.Errorf("certificate %s: %w", o.Certificate, err))
	}
	if o.CertificateChain == "" {
		return c, nil
	}
	if c.chainPEM, err = limits.ReadFile(o.CertificateChain, 0); err != nil {
		return nil, badInput(fmt.Errorf("reading certificate chain: %w", err))
	}
	if err := c.parse(); err != nil {
		return nil, badInput(fmt.Errorf("certificate chain %s: %w", o.CertificateChain, err))
	}
	if len(c.chain) == 0 {
		return nil, badInput(fmt.Errorf("no certificates in %s", o.CertificateChain))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.chain[len(c.chain)-1])
	for _, ic := range c.chain[:len(c.chain)-1] {
		inter.AddCert(ic)
	}
	if _, err := cosign.TrustedCert(c.cert, roots, inter); err != nil {
		return nil, badInput(fmt.Errorf("certificate does not chain to %s: %w", o.CertificateChain, err))
	}
	return c, nil
}

// loadPrivateKey loads a cosign private key from a file or env://VAR, or a
// KMS key (see keyref). The password never appears in errors.
func loadPrivateKey(ctx context.Context, ref string, password []byte) (signature.SignerVerifier, error) {
	raw, sv, err := keyref.Open(ctx, ref)
	var bad *keyref.BadRef
	switch {
	case errors.As(err, &bad):
		return nil, badInput(err)
	case err != nil:
		return nil, err
	case sv != nil:
		return sv, nil
	}
	sv, err = cosign.LoadPrivateKey(raw, password, nil)
	// Decrypting took a 64 MiB scrypt buffer, garbage now. Without a
	// collection here the heap would grow past it before the next one, and
	// a keyed release would peak near 100 MiB instead of at the decryption.
	debug.FreeOSMemory()
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") && len(password) == 0 {
			return nil, fmt.Errorf("loading key %s: %w", ref, ErrNoKeyPassword)
		}
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, fmt.Errorf("loading key %s: %w", ref, ErrKeyPassword)
		}
		return nil, badInput(fmt.Errorf("loading key %s: %w", ref, err))
	}
	return sv, nil
}

// readCertPEM reads a PEM or DER certificate file and returns it as PEM.
func readCertPEM(path string) ([]byte, error) {
	b, err := limits.ReadFile(path, 0)
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----")) {
		return b, nil
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate %s: %w", path, err)
	}
	return cryptoutils.MarshalCertificateToPEM(c)
}
