package signer

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/layout"
)

// Mode says where simple-signing signatures are stored (layout.Mode).
type Mode = layout.Mode

// The storage modes (see package layout).
const (
	ModeLegacy = layout.ModeLegacy
	ModeOCI11  = layout.ModeOCI11
	ModeBoth   = layout.ModeBoth
)

// Modes lists the valid modes, default first.
var Modes = layout.Modes

// ParseMode parses a --registry-referrers-mode value; "" means ModeLegacy.
func ParseMode(s string) (Mode, error) { return layout.ParseMode(s) }

// Default service URLs, as cosign's.
const (
	DefaultFulcioURL     = "https://fulcio.sigstore.dev"
	DefaultRekorURL      = "https://rekor.sigstore.dev"
	DefaultTokenAudience = "sigstore"
)

// Options configure a Signer. Exactly one of Key and IdentityToken must be
// set. The zero value of every other field is a sensible default.
type Options struct {
	// RemoteOptions are used for every registry request (auth, transport,
	// user agent, retries). The signer adds remote.WithContext itself.
	RemoteOptions []remote.Option
	// Logger receives progress at debug level; nil logs nothing.
	Logger *slog.Logger
	// Bundle signs in cosign v3's format, the one `cosign sign` writes by
	// default since v3 (--new-bundle-format): a Sigstore bundle v0.3
	// holding a DSSE envelope of the in-toto statement
	// layout.SignStatement, stored as an OCI 1.1 referrer of the image
	// (layout.BundleManifest; the fallback index on registries without
	// the referrers API). With Mode also set, one Sign writes both
	// formats, for fleets with consumers that read only simple-signing
	// signatures (cosign < 2.6.3, podman, older policy engines).
	Bundle bool
	// Mode says where simple-signing signatures (cosign v2's format,
	// --new-bundle-format=false) are written. "" is ModeLegacy when Bundle
	// is false, and no simple-signing signature when Bundle is true.
	Mode Mode

	// Key is a private key reference: a cosign.key file path, env://VAR
	// holding the PEM, or a KMS URI of a provider linked into the program.
	Key string
	// Password decrypts an encrypted cosign.key (COSIGN_PASSWORD).
	Password []byte
	// Certificate and CertificateChain optionally attach a certificate
	// (and its chain, PEM files) for Key to the signature.
	Certificate      string
	CertificateChain string

	// SigningConfig is a Sigstore signing_config.json (cosign v3's
	// --signing-config) naming the Fulcio, Rekor (with its API version)
	// and timestamp authority, selected as cosign v3 does
	// (SelectServices). It excludes FulcioURL, RekorURL, RekorVersion and
	// TimestampServerURL (ErrSigningConfigMixed). With none of them set
	// and a service needed (keyless, or a tlog upload), the signing
	// config comes from the TUF repository (TUFMirror), as cosign v3's
	// default.
	SigningConfig string

	// IdentityToken is the raw OIDC ID token for keyless signing.
	IdentityToken string
	// TokenAudience is the audience the token must carry; "" is "sigstore".
	TokenAudience string
	// FulcioURL is the Fulcio to request a certificate from; "" is
	// DefaultFulcioURL.
	FulcioURL string
	// InsecureSkipSCT accepts a Fulcio certificate without a verifiable
	// SCT (a private Fulcio without a CT log). cosign: --insecure-skip-verify.
	InsecureSkipSCT bool
	// TrustedRoot is a sigstore trusted_root.json used to verify the
	// Fulcio certificate's SCT and a recovered Rekor v2 entry; without it
	// the trusted root comes from the TUF repository (TUFMirror).
	TrustedRoot string
	// TUFMirror and TUFRoot name the Sigstore TUF repository the trusted
	// root and, without SigningConfig or any service URL, the signing
	// config come from, as cosign v3 gets them (`cosign initialize
	// --mirror --root`). "" and "" are Sigstore's public-good repository
	// with its embedded root; another mirror needs its root.json.
	TUFMirror, TUFRoot string

	// CheckAnnotations, when set, is called with the signing certificate
	// (keyless: Fulcio's; with a key: Options.Certificate, if any) and the
	// annotations of each Sign call before anything is signed or written;
	// an error refuses the call (an *AnnotationError wrapping it).
	// ci.CheckBound refuses annotations that disagree with what a CI job's
	// certificate certifies. Default: nil, no check.
	CheckAnnotations func(cert *x509.Certificate, annotations map[string]string) error

	// SkipTlogUpload skips uploading to Rekor (cosign --tlog-upload=false).
	SkipTlogUpload bool
	// RekorURL is the Rekor to upload to; "" is DefaultRekorURL.
	RekorURL string
	// RekorVersion is the major version of RekorURL's API for bundle
	// signatures: 0 or 1 is Rekor v1, 2 is Rekor v2, whose entries carry
	// no timestamp, so it needs TimestampServerURL (ErrRekorV2Timestamp).
	// Simple-signing signatures are logged in Rekor v1 only.
	RekorVersion uint32
	// TimestampServerURL, when set, gets an RFC 3161 timestamp over the
	// signature from this TSA.
	TimestampServerURL string
	// ServiceCACert is a PEM file of extra CAs trusted for TLS to Fulcio,
	// Rekor and the TSA (private setups).
	ServiceCACert string
	// HTTPTimeout bounds each request to Fulcio, Rekor or the TSA; 0 is 30s.
	HTTPTimeout time.Duration
	// UserAgent is sent to Fulcio, Rekor and the TSA.
	UserAgent string

	// MaxAttempts bounds the read-modify-write retries per layout when
	// concurrent writers interfere; 0 is 20.
	MaxAttempts int
	// SettleDelay is how long to wait after a write before reading it back
	// to detect a lost update; 0 picks one from the observed write time.
	SettleDelay time.Duration
	// ShortestRoundTrip, when set, returns the shortest time a request to
	// a registry host has taken (registry.Registry.ShortestRoundTrip). The
	// picked settle delay then leaves out the network's share of the
	// write's requests but one: a concurrent writer pays it too on its
	// way from its check to its write, so only the waits beyond it (a busy
	// machine, a slow registry) need waiting out.
	ShortestRoundTrip func(host string) time.Duration

	// httpClient, for tests.
	httpClient *http.Client
}

func (o *Options) keyless() bool { return o.IdentityToken != "" }

// simpleMode is the layout of simple-signing signatures; "" when none are
// written.
func (o *Options) simpleMode() Mode {
	if o.Mode == "" && !o.Bundle {
		return ModeLegacy
	}
	return o.Mode
}

func (o *Options) validate() error {
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return err
	}
	if o.SigningConfig != "" && (o.FulcioURL != "" || o.RekorURL != "" || o.RekorVersion != 0 || o.TimestampServerURL != "") {
		return fmt.Errorf("%w: %w", ErrConfig, ErrSigningConfigMixed)
	}
	if err := o.validateRekor(); err != nil {
		return err
	}
	switch {
	case o.Key != "" && o.IdentityToken != "":
		return fmt.Errorf("%w: a key and an identity token are exclusive", ErrConfig)
	case o.Key == "" && o.IdentityToken == "":
		return fmt.Errorf("%w: need a key or an identity token (%w)", ErrConfig, &TokenError{Reason: TokenMissing})
	case o.CertificateChain != "" && o.Certificate == "":
		return fmt.Errorf("%w: a certificate chain needs a certificate", ErrConfig)
	case o.keyless() && o.Certificate != "":
		return fmt.Errorf("%w: a certificate is for keyed signing only", ErrConfig)
	}
	return nil
}

// validateRekor checks the Rekor API version against what is logged.
func (o *Options) validateRekor() error {
	switch {
	case o.RekorVersion > 2:
		return fmt.Errorf("%w: Rekor API version %d (want 1 or 2)", ErrConfig, o.RekorVersion)
	case o.RekorVersion < 2 || o.SkipTlogUpload:
		return nil
	case !o.Bundle:
		return fmt.Errorf("%w: Rekor v2 logs bundle signatures only (set {signer.Options.Bundle}, or {signer.Options.RekorVersion} 1)", ErrConfig)
	case o.simpleMode() != "":
		return fmt.Errorf("%w: Rekor v2 logs bundle signatures only; simple-signing signatures ({signer.Options.Mode}) need {signer.Options.RekorVersion} 1", ErrConfig)
	case o.TimestampServerURL == "":
		return fmt.Errorf("%w: %w", ErrConfig, ErrRekorV2Timestamp)
	}
	return nil
}

func (o *Options) withDefaults() Options {
	d := *o
	d.Mode = o.simpleMode()
	if d.TokenAudience == "" {
		d.TokenAudience = DefaultTokenAudience
	}
	if d.HTTPTimeout == 0 {
		d.HTTPTimeout = 30 * time.Second
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 20
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}
