package verifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestVerifyKeyIgnoresAttachedCertificate: a certificate attached to a key
// signature (by anyone: the layer's annotations are not signed) is not
// checked by a key policy, so the output does not report its subject or
// issuer as if it were.
func TestVerifyKeyIgnoresAttachedCertificate(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "k", nil)
	tag := layout.SignatureTag(d)
	desc, err := remote.Get(tag, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	m.Layers[0].Annotations[static.CertificateAnnotationKey] = string(attackerCert(t, "ceo@example.com"))
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(tag, rawManifest{raw, types.OCIManifestSchema1}, reg.Options...); err != nil {
		t.Fatal(err)
	}
	res, err := verifyKey(t, reg, d, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "ceo@example.com") || strings.Contains(string(out), `"Subject"`) {
		t.Fatalf("the output reports the attached certificate's identity: %s", out)
	}
}

// attackerCert is a self-signed certificate for email, PEM.
func attackerCert(t *testing.T, email string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), EmailAddresses: []string{email},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	return pem
}
