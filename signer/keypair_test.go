package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// TestKeypair: the keypair a bundle is signed with gives cosign v3's hint
// (base64 SHA-256 of the PKIX public key) and signs with the key's
// algorithm; a key sigstore cannot use is a KeyTypeError and ErrConfig.
func TestKeypair(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		ok   bool
	}{
		{"ecdsa p-256", p256, true},
		{"rsa 2048", rsaKey, true},
		{"ed25519", edKey, true},
		{"ecdsa p-224", p224, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := signature.LoadSignerVerifier(tc.key, crypto.SHA256)
			if err != nil {
				if !tc.ok {
					t.Skipf("sigstore cannot load it at all: %v", err)
				}
				t.Fatal(err)
			}
			kp, err := newKeypair(sv)
			var kte *KeyTypeError
			if !tc.ok {
				if !errors.As(err, &kte) || !errors.Is(err, ErrConfig) {
					t.Fatalf("got %v, want a KeyTypeError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(tc.key.Public())
			sum := sha256.Sum256(der)
			if got := string(kp.GetHint()); got != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("hint %s", got)
			}
			msg := []byte("DSSEv1 ...")
			sig, _, err := kp.SignData(t.Context(), msg)
			if err != nil {
				t.Fatal(err)
			}
			v, err := signature.LoadDefaultVerifier(tc.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytesReader(sig), bytesReader(msg)); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
		})
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
