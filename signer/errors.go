package signer

import (
	"errors"
	"fmt"

	"github.com/hallmark-dev/hallmark/layout"
)

var (
	// ErrConfig reports inconsistent Options, or a key, certificate or CA
	// file (or env:// variable) they name that cannot be read or parsed.
	ErrConfig = errors.New("invalid signer options")
	// ErrUnknownMode reports a storage mode that is not one of Modes.
	ErrUnknownMode = layout.ErrUnknownMode
	// ErrKeyPassword reports that the key could not be decrypted with the
	// given password.
	ErrKeyPassword = errors.New("wrong password for the private key")
	// ErrNoKeyPassword reports an encrypted key and no password; it is an
	// ErrKeyPassword too (errors.Is).
	ErrNoKeyPassword error = noKeyPassword{}
	// ErrRekorV2Timestamp reports Rekor v2 without a timestamp authority:
	// Rekor v2 entries carry no timestamp, so a signature (a short-lived
	// certificate's above all) needs an RFC 3161 one (cosign v3 refuses
	// too). It comes wrapped in ErrConfig.
	ErrRekorV2Timestamp = errors.New("a Rekor v2 transparency log needs an RFC 3161 timestamp authority (set {signer.Options.TimestampServerURL})")
	// ErrLostUpdate reports that concurrent writers kept removing this
	// signer's signature for more than Options.MaxAttempts attempts.
	ErrLostUpdate = errors.New("signature kept being overwritten by concurrent writers")
	// ErrWriteDropped reports a registry that answered a signature's write
	// with success but kept serving the listing as it was, without it,
	// write after write: it drops manifest writes (a read-only mirror, a
	// proxy cache, a quota), which no retry fixes.
	ErrWriteDropped = errors.New("the registry accepts the signature's writes but does not keep them (it drops manifest writes; no concurrent writer changed the listing)")
	// ErrDeleteRefused reports a registry that refuses to delete
	// manifests (DELETE unsupported or disabled): what Withdraw or
	// convergence would remove stays.
	ErrDeleteRefused = errors.New("the registry refuses to delete manifests")
	// ErrSignatureTagFull reports a legacy signature tag that already
	// holds layout.MaxSignatureLayers signatures, the most cosign reads:
	// another layer would make every signature on the digest unreadable,
	// so nothing is written.
	ErrSignatureTagFull = fmt.Errorf("the signature tag holds %d signatures, the most cosign reads; sign as a bundle ({signer.Options.Bundle}) or in the oci-1-1 layout ({signer.Options.Mode} oci-1-1), or delete old signatures from the tag", layout.MaxSignatureLayers)
)

// noKeyPassword is ErrNoKeyPassword.
type noKeyPassword struct{}

func (noKeyPassword) Error() string {
	return "the private key is encrypted and no password was given"
}

func (noKeyPassword) Is(target error) bool { return target == ErrKeyPassword }

// TokenReason says what is wrong with an identity token.
type TokenReason string

// Reasons an identity token is refused before it is sent anywhere.
const (
	TokenMissing       TokenReason = "missing"
	TokenMalformed     TokenReason = "malformed"
	TokenExpired       TokenReason = "expired"
	TokenWrongAudience TokenReason = "wrong audience"
	TokenNoSubject     TokenReason = "no subject"
)

// TokenError reports an unusable OIDC identity token. It never contains
// the token itself.
type TokenError struct {
	Reason TokenReason
	Detail string // e.g. the expiry time or the audiences found
}

func (e *TokenError) Error() string {
	if e.Reason == TokenWrongAudience {
		return fmt.Sprintf("OIDC identity token for the wrong audience: %s", e.Detail)
	}
	if e.Detail == "" {
		return fmt.Sprintf("%s OIDC identity token", e.Reason)
	}
	return fmt.Sprintf("%s OIDC identity token: %s", e.Reason, e.Detail)
}

// ServiceError reports a failed request to a Sigstore service (Fulcio,
// Rekor or a timestamp authority), e.g. because it is unreachable.
type ServiceError struct {
	Service string // "fulcio", "rekor" or "timestamp authority"
	URL     string
	Err     error
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("%s at %s: %v", e.Service, e.URL, e.Err)
}

func (e *ServiceError) Unwrap() error { return e.Err }

// inputError marks an error in material the caller named — a key,
// certificate or CA file, or an env:// variable — as ErrConfig for
// errors.Is, keeping its message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrConfig }

func badInput(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

// KeyTypeError reports a signing key whose type a Sigstore bundle cannot
// carry (bundle signing supports ECDSA P-256/P-384/P-521, RSA and
// Ed25519 keys, as sigstore-go does). It is an ErrConfig for errors.Is.
type KeyTypeError struct {
	// Type describes the key, e.g. "*ecdsa.PublicKey (P-224)".
	Type string
	Err  error
}

func (e *KeyTypeError) Error() string {
	return fmt.Sprintf("a %s key cannot sign a Sigstore bundle: %v", e.Type, e.Err)
}

func (e *KeyTypeError) Unwrap() error        { return e.Err }
func (e *KeyTypeError) Is(target error) bool { return target == ErrConfig }

// AnnotationError reports annotations the signing certificate disagrees
// with (Options.CheckAnnotations refused them): nothing was signed.
type AnnotationError struct{ Err error }

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("nothing signed: %v", e.Err)
}

func (e *AnnotationError) Unwrap() error { return e.Err }
