package signer

// Keyless signing: an ephemeral key, certified by Fulcio for the identity in
// an OIDC token. This is the one place that talks to Fulcio. It uses
// Fulcio's v1 ("legacy") signingCert API, as cosign v2.6 does, but without
// cosign's CLI packages: those read the token from a file when it does not
// parse as RS256 (and would put it in an error), print to stderr, and drag
// in all of cosign's command-line dependencies.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// signingKey is the key a Signer signs with: its signer-verifier and, when
// it has one, its certificate (Fulcio's for a keyless signer, or
// Options.Certificate for a key) with the chain, as PEM and parsed.
type signingKey struct {
	sv       signature.SignerVerifier
	certPEM  []byte
	chainPEM []byte
	cert     *x509.Certificate
	chain    []*x509.Certificate
}

// ephemeralSigningKey checks the token, makes an ephemeral key and gets it
// certified by Fulcio.
func ephemeralSigningKey(ctx context.Context, o *Options, hc *http.Client) (*signingKey, error) {
	_, subject, err := checkToken(o.IdentityToken, o.TokenAudience, time.Now())
	if err != nil {
		return nil, err
	}
	priv, err := cosign.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("generating ephemeral key: %w", err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading ephemeral key: %w", err)
	}
	certPEM, chainPEM, sct, err := requestCertificate(ctx, hc, o, sv, subject)
	if err != nil {
		return nil, fmt.Errorf("getting a signing certificate: %w", &ServiceError{Service: "fulcio", URL: o.FulcioURL, Err: err})
	}
	c := &signingKey{sv: sv, certPEM: certPEM, chainPEM: chainPEM}
	if err := c.parse(); err != nil {
		return nil, fmt.Errorf("getting a signing certificate: %w", &ServiceError{Service: "fulcio", URL: o.FulcioURL, Err: err})
	}
	if o.InsecureSkipSCT {
		o.Logger.DebugContext(ctx, "not verifying the Fulcio certificate's SCT (insecure skip)")
		return c, nil
	}
	tr, err := o.trustedRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting the trusted root to verify the Fulcio certificate's SCT: %w", err)
	}
	if err := verifyCertificateSCT(ctx, tr, c, sct); err != nil {
		return nil, fmt.Errorf("verifying the SCT of the Fulcio certificate (use {signer.Options.InsecureSkipSCT} for a Fulcio without a CT log): %w", err)
	}
	return c, nil
}

func (c *signingKey) parse() error {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(c.certPEM)
	if err != nil || len(certs) != 1 {
		return fmt.Errorf("parsing certificate: want one PEM certificate (%v)", err)
	}
	c.cert = certs[0]
	if len(bytes.TrimSpace(c.chainPEM)) > 0 {
		if c.chain, err = cryptoutils.UnmarshalCertificatesFromPEM(c.chainPEM); err != nil {
			return fmt.Errorf("parsing certificate chain: %w", err)
		}
	}
	pub, err := c.sv.PublicKey()
	if err != nil {
		return err
	}
	if err := cryptoutils.EqualKeys(pub, c.cert.PublicKey); err != nil {
		return errors.New("certificate is not for the ephemeral key")
	}
	return nil
}

type fulcioRequest struct {
	PublicKey struct {
		Content []byte `json:"content"`
	} `json:"publicKey"`
	SignedEmailAddress []byte `json:"signedEmailAddress"`
}

// requestCertificate posts to Fulcio's /api/v1/signingCert. The token only
// goes into the Authorization header.
func requestCertificate(ctx context.Context, hc *http.Client, o *Options, sv signature.SignerVerifier, subject string) (certPEM, chainPEM, sct []byte, err error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, nil, nil, err
	}
	var req fulcioRequest
	if req.PublicKey.Content, err = cryptoutils.MarshalPublicKeyToPEM(pub); err != nil {
		return nil, nil, nil, err
	}
	if req.SignedEmailAddress, err = sv.SignMessage(strings.NewReader(subject)); err != nil {
		return nil, nil, nil, fmt.Errorf("signing the proof of possession: %w", err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, nil, err
	}
	u := strings.TrimSuffix(o.FulcioURL, "/") + "/api/v1/signingCert"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, nil, err
	}
	hreq.Header.Set("Authorization", "Bearer "+strings.TrimSpace(o.IdentityToken))
	hreq.Header.Set("Content-Type", "application/json")
	o.Logger.DebugContext(ctx, "requesting a signing certificate", "fulcio", u)
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, nil, nil, scrubURLError(err)
	}
	defer resp.Body.Close()
	rb, err := limits.ReadAll(resp.Body, 1<<20, "Fulcio's answer")
	if err != nil {
		return nil, nil, nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, nil, nil, fmt.Errorf("%s: %s", resp.Status, snippet(rb))
	}
	if sct, err = base64.StdEncoding.DecodeString(resp.Header.Get("SCT")); err != nil {
		return nil, nil, nil, fmt.Errorf("decoding the SCT header: %w", err)
	}
	block, rest := pem.Decode(rb)
	if block == nil {
		return nil, nil, nil, errors.New("no certificate in the response")
	}
	return pem.EncodeToMemory(block), rest, sct, nil
}

// verifyCertificateSCT checks the certificate's SCT (embedded or detached)
// against the trusted root's CT logs, as cosign's fulcioverifier does.
func verifyCertificateSCT(ctx context.Context, tr *root.TrustedRoot, c *signingKey, sct []byte) error {
	if len(sct) == 0 {
		chain := append([]*x509.Certificate{c.cert}, c.chain...)
		return verify.VerifySignedCertificateTimestamp([][]*x509.Certificate{chain}, 1, tr)
	}
	keys := cosign.NewTrustedTransparencyLogPubKeys()
	for _, l := range tr.CTLogs() {
		id, err := cosign.GetTransparencyLogID(l.PublicKey)
		if err != nil {
			return err
		}
		keys.Keys[id] = cosign.TransparencyLogPubKey{PubKey: l.PublicKey}
	}
	return cosign.VerifySCT(ctx, c.certPEM, c.chainPEM, sct, &keys)
}

// snippet shortens a server's error body for an error message.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
