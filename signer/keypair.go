package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
)

// keypair is sigstore-go's sign.Keypair over the signer's key (the
// ephemeral key Fulcio certified, or a cosign or KMS key), as cosign v3's
// SignerVerifierKeypair: the hint is the base64 SHA-256 of the public
// key's PKIX DER, the algorithm sigstore's default for the key.
type keypair struct {
	sv     signature.SignerVerifier
	pub    crypto.PublicKey
	pubPEM string
	hint   []byte
	keyAlg string
	alg    signature.AlgorithmDetails
}

var _ sign.Keypair = (*keypair)(nil)

// newKeypair wraps sv; a key a bundle cannot carry is a *KeyTypeError.
func newKeypair(sv signature.SignerVerifier) (*keypair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading the signer's public key: %w", err)
	}
	k := &keypair{sv: sv, pub: pub}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		k.keyAlg = "ECDSA"
	case *rsa.PublicKey:
		k.keyAlg = "RSA"
	case ed25519.PublicKey:
		k.keyAlg = "ED25519"
	default:
		return nil, &KeyTypeError{Type: fmt.Sprintf("%T", p), Err: fmt.Errorf("unsupported key type")}
	}
	if k.alg, err = signature.GetDefaultAlgorithmDetails(pub); err != nil {
		kt := fmt.Sprintf("%T", pub)
		if ec, ok := pub.(*ecdsa.PublicKey); ok {
			kt += " (" + ec.Curve.Params().Name + ")"
		}
		return nil, &KeyTypeError{Type: kt, Err: err}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, &KeyTypeError{Type: fmt.Sprintf("%T", pub), Err: err}
	}
	sum := sha256.Sum256(der)
	k.hint = []byte(base64.StdEncoding.EncodeToString(sum[:]))
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, &KeyTypeError{Type: fmt.Sprintf("%T", pub), Err: err}
	}
	k.pubPEM = string(pemBytes)
	return k, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *keypair) GetHint() []byte                  { return k.hint }
func (k *keypair) GetKeyAlgorithm() string          { return k.keyAlg }
func (k *keypair) GetPublicKey() crypto.PublicKey   { return k.pub }
func (k *keypair) GetPublicKeyPem() (string, error) { return k.pubPEM, nil }

// SignData signs data (a DSSE envelope's pre-authentication encoding)
// and returns the signature and the digest signed (none for Ed25519,
// which signs the message itself).
func (k *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	opts := []signature.SignOption{sigopts.WithContext(ctx)}
	var digest []byte
	if h := k.alg.GetHashType(); h != 0 {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
		opts = append(opts, sigopts.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, nil, signError{err}
	}
	return sig, digest, nil
}

// signError marks the key's failure to sign, as opposed to a service's.
type signError struct{ error }

func (e signError) Unwrap() error { return e.error }
