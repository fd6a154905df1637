package signer

// Service selection from a Sigstore signing config (signing_config.json,
// cosign v3's --signing-config): the Fulcio, the Rekor (with its API
// version) and the timestamp authority, chosen as sigstore-go and cosign
// v3 choose them.

import (
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark/internal/limits"
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

// applySigningConfig sets the service URLs from Options.SigningConfig,
// refusing explicit ones (ErrSigningConfigMixed). Without an upload the
// Rekor is not needed and not selected.
func (o *Options) applySigningConfig(now time.Time) error {
	if o.SigningConfig == "" {
		return nil
	}
	if o.FulcioURL != "" || o.RekorURL != "" || o.RekorVersion != 0 || o.TimestampServerURL != "" {
		return fmt.Errorf("%w: %w", ErrConfig, ErrSigningConfigMixed)
	}
	sc, err := limits.ReadSigningConfig(o.SigningConfig)
	if err != nil {
		return badInput(fmt.Errorf("reading signing config %s: %w", o.SigningConfig, err))
	}
	versions := sign.RekorAPIVersions
	if o.simpleMode() != "" {
		versions = []uint32{1}
	}
	if o.SkipTlogUpload {
		sc = sc.WithRekorLogURLs()
	}
	svc, err := SelectServices(sc, versions, now)
	if err != nil {
		return fmt.Errorf("%w: signing config %s: %w", ErrConfig, o.SigningConfig, err)
	}
	if svc.FulcioURL == "" && o.keyless() {
		return fmt.Errorf("%w: signing config %s lists no Fulcio for keyless signing", ErrConfig, o.SigningConfig)
	}
	if svc.RekorURL == "" && !o.SkipTlogUpload {
		return fmt.Errorf("%w: signing config %s lists no Rekor: sign without an upload ({signer.Options.SkipTlogUpload})", ErrConfig, o.SigningConfig)
	}
	o.FulcioURL, o.RekorURL, o.RekorVersion = svc.FulcioURL, svc.RekorURL, svc.RekorVersion
	o.TimestampServerURL = svc.TimestampServerURL
	return nil
}

// ResolvedServices returns the services o signs with, as New selects them:
// from its SigningConfig when set, else its URLs as given (defaults not
// applied). Checks of those services (hallmark doctor) use it.
func (o Options) ResolvedServices(now time.Time) (Services, error) {
	if err := o.applySigningConfig(now); err != nil {
		return Services{}, err
	}
	return Services{FulcioURL: o.FulcioURL, RekorURL: o.RekorURL, RekorVersion: o.RekorVersion, TimestampServerURL: o.TimestampServerURL}, nil
}
