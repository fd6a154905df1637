// Package sigstoretuf fetches a Sigstore instance's trusted root and
// signing config from its TUF repository, as cosign v3 does for the
// public-good instance (sigstore-go's tuf client: the embedded
// public-good root.json, a cache under $HOME/.sigstore/root). A private
// instance's repository is named by its mirror URL and root.json, as
// `cosign initialize --mirror --root` does.
package sigstoretuf

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// ErrMirrorRoot reports a mirror other than the public-good one without
// its root.json: only the public-good root is embedded.
var ErrMirrorRoot = errors.New("a TUF mirror other than Sigstore's public-good one needs its root.json")

// Options say which TUF repository to read. The zero value is Sigstore's
// public-good repository.
type Options struct {
	// Mirror is the repository's base URL; "" is tuf.DefaultMirror.
	Mirror string
	// Root is the repository's trusted root.json file; "" is the embedded
	// public-good root, for the public-good mirror only (ErrMirrorRoot).
	Root string
	// CachePath is where metadata and targets are cached; "" is
	// $HOME/.sigstore/root, cosign's.
	CachePath string
}

// client returns a TUF client, refreshed from the repository.
func (o Options) client(ctx context.Context) (*tuf.Client, error) {
	opts := tuf.DefaultOptions().WithContext(ctx)
	if o.Mirror != "" && o.Mirror != tuf.DefaultMirror {
		if o.Root == "" {
			return nil, fmt.Errorf("%w (%s)", ErrMirrorRoot, o.Mirror)
		}
		opts.RepositoryBaseURL = o.Mirror
	}
	if o.Root != "" {
		b, err := limits.ReadFile(o.Root, 0)
		if err != nil {
			return nil, fmt.Errorf("reading TUF root: %w", err)
		}
		opts.Root = b
	}
	if o.CachePath != "" {
		opts.CachePath = o.CachePath
	}
	c, err := tuf.New(opts)
	if err != nil {
		return nil, fmt.Errorf("initializing TUF from %s: %w", opts.RepositoryBaseURL, err)
	}
	return c, nil
}

// TrustedRoot fetches the trusted_root.json target.
func TrustedRoot(ctx context.Context, o Options) (*root.TrustedRoot, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nil, err
	}
	tr, err := root.GetTrustedRoot(c)
	if err != nil {
		return nil, fmt.Errorf("getting the trusted root from TUF: %w", err)
	}
	return tr, nil
}

// SigningConfig fetches the signing_config.v0.2.json target.
func SigningConfig(ctx context.Context, o Options) (*root.SigningConfig, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := root.GetSigningConfig(c)
	if err != nil {
		return nil, fmt.Errorf("getting the signing config from TUF: %w", err)
	}
	return sc, nil
}
