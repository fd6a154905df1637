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
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"

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

// Source says where a target came from: the repository and the versions
// of its root and targets metadata the client trusted (0 when they could
// not be read back from its cache).
type Source struct {
	Mirror         string
	RootVersion    int64
	TargetsVersion int64
}

func (s Source) String() string {
	if s.RootVersion == 0 || s.TargetsVersion == 0 {
		return "TUF mirror " + s.Mirror
	}
	return fmt.Sprintf("TUF mirror %s (root v%d, targets v%d)", s.Mirror, s.RootVersion, s.TargetsVersion)
}

// client returns a TUF client, refreshed from the repository, and the
// source its targets come from.
func (o Options) client(ctx context.Context) (*tuf.Client, Source, error) {
	opts := tuf.DefaultOptions().WithContext(ctx)
	if o.Mirror != "" {
		opts.RepositoryBaseURL = o.Mirror
	}
	src := Source{Mirror: opts.RepositoryBaseURL}
	if opts.RepositoryBaseURL != tuf.DefaultMirror && o.Root == "" {
		return nil, src, fmt.Errorf("%w (%s)", ErrMirrorRoot, o.Mirror)
	}
	if o.Root != "" {
		b, err := limits.ReadFile(o.Root, 0)
		if err != nil {
			return nil, src, fmt.Errorf("reading TUF root: %w", err)
		}
		opts.Root = b
	}
	if o.CachePath != "" {
		opts.CachePath = o.CachePath
	}
	c, err := tuf.New(opts)
	if err != nil {
		return nil, src, fmt.Errorf("initializing TUF from %s: %w", opts.RepositoryBaseURL, err)
	}
	return c, cachedSource(opts), nil
}

// cachedSource reads back the versions of the root and targets metadata
// the client verified and cached (go-tuf's updater keeps the trusted
// top-level metadata as ROLE.json in the cache directory).
func cachedSource(opts *tuf.Options) Source {
	s := Source{Mirror: opts.RepositoryBaseURL}
	if opts.DisableLocalCache {
		return s
	}
	dir := filepath.Join(opts.CachePath, tuf.URLToPath(opts.RepositoryBaseURL))
	if r, err := metadata.Root().FromFile(filepath.Join(dir, "root.json")); err == nil {
		s.RootVersion = r.Signed.Version
	}
	if t, err := metadata.Targets().FromFile(filepath.Join(dir, "targets.json")); err == nil {
		s.TargetsVersion = t.Signed.Version
	}
	return s
}

// TrustedRoot fetches the trusted_root.json target.
func TrustedRoot(ctx context.Context, o Options) (*root.TrustedRoot, error) {
	tr, _, err := TrustedRootFrom(ctx, o)
	return tr, err
}

// TrustedRootFrom fetches the trusted_root.json target and says where it
// came from.
func TrustedRootFrom(ctx context.Context, o Options) (*root.TrustedRoot, Source, error) {
	c, src, err := o.client(ctx)
	if err != nil {
		return nil, src, err
	}
	tr, err := root.GetTrustedRoot(c)
	if err != nil {
		return nil, src, fmt.Errorf("getting the trusted root from %s: %w", src.Mirror, err)
	}
	return tr, src, nil
}

// SigningConfig fetches the signing_config.v0.2.json target.
func SigningConfig(ctx context.Context, o Options) (*root.SigningConfig, error) {
	sc, _, err := SigningConfigFrom(ctx, o)
	return sc, err
}

// SigningConfigFrom fetches the signing_config.v0.2.json target and says
// where it came from.
func SigningConfigFrom(ctx context.Context, o Options) (*root.SigningConfig, Source, error) {
	c, src, err := o.client(ctx)
	if err != nil {
		return nil, src, err
	}
	sc, err := root.GetSigningConfig(c)
	if err != nil {
		return nil, src, fmt.Errorf("getting the signing config from %s: %w", src.Mirror, err)
	}
	return sc, src, nil
}
