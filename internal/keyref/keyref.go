// Package keyref resolves the key references cosign accepts, for the
// signer (private keys) and the verifier (public keys): a file, env://VAR,
// an http(s) URL, or a KMS URI handled by a linked-in provider (or a
// sigstore-kms-* plugin on PATH).
package keyref

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

// BadRef is a reference that cannot be used as given: a file or variable
// that cannot be read, or a KMS URI no provider here handles. Failing to
// reach a URL or a KMS is not one.
type BadRef struct{ Err error }

func (e *BadRef) Error() string { return e.Err.Error() }
func (e *BadRef) Unwrap() error { return e.Err }

// Open resolves ref: a KMS URI gives the KMS key's SignerVerifier, any
// other reference the bytes it names (a PEM key or certificate, not yet
// parsed).
func Open(ctx context.Context, ref string) (raw []byte, fromKMS signature.SignerVerifier, err error) {
	if isKMS(ref) {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		var nf *kms.ProviderNotFoundError
		switch {
		case errors.As(err, &nf):
			return nil, nil, &BadRef{fmt.Errorf("loading key %s: no KMS provider for this URI in this build", ref)}
		case err != nil:
			return nil, nil, fmt.Errorf("loading key %s: %w", ref, err)
		}
		return nil, sv, nil
	}
	raw, err = load(ctx, ref)
	switch {
	case err != nil && (strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://")):
		return nil, nil, fmt.Errorf("loading key %s: %w", ref, err)
	case err != nil:
		return nil, nil, &BadRef{fmt.Errorf("loading key %s: %w", ref, err)}
	}
	return raw, nil, nil
}

// isKMS says whether ref is a URI for kms.Get rather than a file, env://
// or http(s):// reference load reads.
func isKMS(ref string) bool {
	scheme, _, ok := strings.Cut(ref, "://")
	if !ok {
		return false
	}
	switch scheme {
	case "env", "http", "https":
		return false
	}
	return true
}
