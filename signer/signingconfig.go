package signer

// Service selection from a Sigstore signing config (signing_config.json,
// cosign v3's --signing-config): the Fulcio, the Rekor (with its API
// version) and the timestamp authority, chosen as sigstore-go and cosign
// v3 choose them.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/sigstoretuf"
)

// ErrSigningConfigMixed reports a signing config together with an
// explicit service URL or Rekor version: as cosign v3 refuses
// --signing-config with --fulcio-url, --rekor-url or
// --timestamp-server-url, one source names the services. It comes
// wrapped in ErrConfig.
var ErrSigningConfigMixed = errors.New("{signer.Options.SigningConfig} names the Fulcio, Rekor and timestamp authority: drop {signer.Options.FulcioURL}, {signer.Options.RekorURL}, {signer.Options.RekorVersion} and {signer.Options.TimestampServerURL}, or the signing config")

// Services are the service endpoints a signing config selects.
type Services struct {
	// FulcioURL is the certificate authority; "" when the config lists
	// none valid now.
	FulcioURL string
	// RekorURL and RekorVersion are the transparency log and its API's
	// major version; "" and 0 when the config lists none.
	RekorURL     string
	RekorVersion uint32
	// TimestampServerURL is the timestamp authority; "" when the config
	// lists none.
	TimestampServerURL string
	// Source says where ResolvedServices took them from: "signing config
	// FILE", the TUF repository's signing config ("TUF mirror URL (root
	// vN, targets vM)"), or "" when the URL options (and the defaults)
	// name them.
	Source string
}

// SelectServices picks from sc the services valid at now: the Fulcio
// with the highest supported API version (root.SelectService), and the
// first Rekor and TSA of root.SelectServices with the config's selectors,
// as cosign v3 does. rekorVersions are the Rekor API versions the caller
// can write (sign.RekorAPIVersions for bundles; 1 only for simple-signing
// signatures). Rekor v2 without a TSA is refused (ErrRekorV2Timestamp).
func SelectServices(sc *root.SigningConfig, rekorVersions []uint32, now time.Time) (Services, error) {
	var out Services
	if cas := sc.FulcioCertificateAuthorityURLs(); len(cas) > 0 {
		s, err := root.SelectService(cas, sign.FulcioAPIVersions, now)
		if err != nil {
			return out, fmt.Errorf("selecting a Fulcio: %w", err)
		}
		out.FulcioURL = s.URL
	}
	if logs := sc.RekorLogURLs(); len(logs) > 0 {
		s, err := root.SelectServices(logs, sc.RekorLogURLsConfig(), rekorVersions, now)
		if err != nil {
			return out, fmt.Errorf("selecting a Rekor: %w", err)
		}
		out.RekorURL, out.RekorVersion = s[0].URL, s[0].MajorAPIVersion
	}
	if tsas := sc.TimestampAuthorityURLs(); len(tsas) > 0 {
		s, err := root.SelectServices(tsas, sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return out, fmt.Errorf("selecting a timestamp authority: %w", err)
		}
		out.TimestampServerURL = s[0].URL
	}
	if out.RekorVersion == 2 && out.TimestampServerURL == "" {
		return out, ErrRekorV2Timestamp
	}
	return out, nil
}

// tuf is the TUF repository of the options.
func (o *Options) tuf() sigstoretuf.Options {
	return sigstoretuf.Options{Mirror: o.TUFMirror, Root: o.TUFRoot}
}

// defaultServices reports whether no service is named although one is
// needed: the signing config then comes from TUF.
func (o *Options) defaultServices() bool {
	named := o.SigningConfig != "" || o.FulcioURL != "" || o.RekorURL != "" || o.RekorVersion != 0 || o.TimestampServerURL != ""
	return !named && (o.keyless() || !o.SkipTlogUpload)
}

// applySigningConfig sets the service URLs from Options.SigningConfig
// (validate refused explicit ones with it: ErrSigningConfigMixed), or,
// with no service named, from the TUF repository's signing config. Without an upload the
// Rekor is not needed and not selected. It returns where the services came
// from (Services.Source).
func (o *Options) applySigningConfig(ctx context.Context, now time.Time) (string, error) {
	var sc *root.SigningConfig
	var err error
	from := o.SigningConfig
	source := "signing config " + o.SigningConfig
	switch {
	case o.defaultServices():
		var src sigstoretuf.Source
		if sc, src, err = sigstoretuf.SigningConfigFrom(ctx, o.tuf()); err != nil {
			return "", fmt.Errorf("the default Sigstore services (or name them: {signer.Options.SigningConfig}): %w", err)
		}
		from, source = "from TUF", src.String()
	case o.SigningConfig == "":
		return "", nil
	default: // validate refused explicit services with it
		if sc, err = limits.ReadSigningConfig(o.SigningConfig); err != nil {
			return "", badInput(fmt.Errorf("reading signing config %s: %w", o.SigningConfig, err))
		}
	}
	versions := sign.RekorAPIVersions
	if o.simpleMode() != "" {
		versions = []uint32{1}
	}
	if o.SkipTlogUpload {
		sc = sc.WithRekorLogURLs()
	}
	svc, err := SelectServices(sc, versions, now)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: signing config %s: %w", ErrConfig, from, err)
	case svc.FulcioURL == "" && o.keyless():
		return "", fmt.Errorf("%w: signing config %s lists no Fulcio for keyless signing", ErrConfig, from)
	case svc.RekorURL == "" && !o.SkipTlogUpload:
		return "", fmt.Errorf("%w: signing config %s lists no Rekor: sign without an upload ({signer.Options.SkipTlogUpload})", ErrConfig, from)
	}
	o.FulcioURL, o.RekorURL, o.RekorVersion = svc.FulcioURL, svc.RekorURL, svc.RekorVersion
	o.TimestampServerURL = svc.TimestampServerURL
	return source, nil
}

// ResolvedServices returns the services o signs with, as New selects them:
// from its signing config (file or TUF) when it names one, then the
// defaults for those still unset. Checks of those services (hallmark
// doctor) use it.
func (o Options) ResolvedServices(ctx context.Context, now time.Time) (Services, error) {
	source, err := o.selectServices(ctx, now)
	if err != nil {
		return Services{}, err
	}
	return Services{FulcioURL: o.FulcioURL, RekorURL: o.RekorURL, RekorVersion: o.RekorVersion, TimestampServerURL: o.TimestampServerURL, Source: source}, nil
}

// resolveServices sets the service URLs: from a signing config (file or
// TUF), then the defaults for those still unset, and checks the Rekor
// settings they make.
func (o *Options) resolveServices(ctx context.Context, now time.Time) error {
	if _, err := o.selectServices(ctx, now); err != nil {
		return err
	}
	return o.validateRekor()
}

// selectServices sets the service URLs from a signing config (file or
// TUF), then the defaults for those still unset, unchecked; it returns
// where the signing config came from ("" for none).
func (o *Options) selectServices(ctx context.Context, now time.Time) (string, error) {
	source, err := o.applySigningConfig(ctx, now)
	if err != nil {
		return "", err
	}
	if o.RekorVersion == 0 {
		o.RekorVersion = 1
	}
	if o.FulcioURL == "" {
		o.FulcioURL = DefaultFulcioURL
	}
	if o.RekorURL == "" {
		o.RekorURL = DefaultRekorURL
	}
	return source, nil
}

// trustedRoot loads Options.TrustedRoot, or gets the TUF repository's.
func (o *Options) trustedRoot(ctx context.Context) (*root.TrustedRoot, error) {
	if o.TrustedRoot == "" {
		return sigstoretuf.TrustedRoot(ctx, o.tuf())
	}
	tr, err := limits.ReadTrustedRoot(o.TrustedRoot)
	if err != nil {
		return nil, badInput(fmt.Errorf("loading trusted root %s: %w", o.TrustedRoot, err))
	}
	return tr, nil
}
