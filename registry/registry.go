package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// Credential is a username and secret for one registry host, with a label
// saying where it came from. Its String form never contains the secret.
type Credential struct {
	// Registry is the host (and optional port) the credential is for.
	Registry string
	// Username is the user name to log in with.
	Username string
	// Password is the secret: a password or token. It is never printed.
	Password string
	// Source names where the credential came from, e.g.
	// "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD"; it is safe to print.
	Source string
}

// String returns "username@registry (from SOURCE)", without the secret.
func (c Credential) String() string {
	return fmt.Sprintf("%s@%s (from %s)", c.Username, c.Registry, c.Source)
}

// Format prints c as its String form for every verb, so no fmt verb
// (%v, %+v, %#v, %d, ...) reveals the secret.
func (c Credential) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue logs c without the secret.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("registry", c.Registry),
		slog.String("username", c.Username),
		slog.String("source", c.Source),
	)
}

// MarshalJSON marshals c without the secret.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Registry string `json:"registry"`
		Username string `json:"username"`
		Source   string `json:"source"`
	}{c.Registry, c.Username, c.Source})
}

// Config configures a Registry. The zero value is usable: anonymous or
// docker-config credentials, TLS everywhere, the default transport.
type Config struct {
	// Insecure lists registry hosts (host or host:port) that may be reached
	// over plain HTTP. Every other registry needs TLS. It does not turn off
	// certificate verification where TLS is used: SkipTLSVerify does.
	Insecure []string
	// SkipTLSVerify lists registry hosts (host or host:port) whose TLS
	// certificates are not verified (a self-signed test registry). Only
	// with the default Transport or an *http.Transport.
	SkipTLSVerify []string
	// Credentials are tried before the docker config, e.g. CI job tokens.
	Credentials []Credential
	// UserAgent is sent with every request; empty means ggcr's default.
	UserAgent string
	// Transport is the base HTTP transport; nil means a clone of
	// remote.DefaultTransport. Tests use it to inject faults.
	Transport http.RoundTripper
	// Logger receives debug details; nil discards them.
	Logger *slog.Logger

	// ResponseHeaderTimeout bounds the wait for a response's headers once
	// the request (and its body) is sent; 0 is
	// DefaultResponseHeaderTimeout (30s), negative is no limit.
	ResponseHeaderTimeout time.Duration
	// BodyIdleTimeout bounds how long a response body (or a request body
	// being sent) may make no progress; 0 is DefaultBodyIdleTimeout (30s),
	// negative is no limit. A transfer that keeps moving is never cut.
	BodyIdleTimeout time.Duration
	// MaxManifestBytes bounds every response read from a registry but
	// blobs: manifests, indexes, referrers listings, tokens; 0 is
	// limits.MaxManifest (4 MiB, as registries accept), negative is no
	// limit.
	MaxManifestBytes int64
	// MaxBlobBytes bounds each blob read from a registry (signature layers
	// and configs, bundles); 0 is limits.MaxBlob (8 MiB), negative is no
	// limit.
	MaxBlobBytes int64
	// TokenRealms are hosts (host or host:port) accepted as a bearer token
	// realm even on a private or link-local address. Without them such a
	// realm is accepted only from a registry itself on a private network
	// or loopback, and never on a link-local address.
	TokenRealms []string
}

// orDefault is v, or def when v is 0; negative values are 0 (no limit).
func orDefault[T int64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Registry is the shared registry access of one hallmark invocation.
// It is safe for concurrent use.
type Registry struct {
	insecure    []string
	skipVerify  []string
	credentials []Credential
	keychain    authn.Keychain
	transport   http.RoundTripper
	trips       *roundTrips
	userAgent   string
	log         *slog.Logger
}

// New returns a Registry for cfg.
func New(cfg Config) *Registry {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := cfg.Transport
	if t == nil {
		t = remote.DefaultTransport.(*http.Transport).Clone()
	}
	insecure, skip := normalizeHosts(cfg.Insecure), normalizeHosts(cfg.SkipTLSVerify)
	if st, ok := newSkipVerify(t, skip); ok {
		t = st
	} else {
		log.Warn("the transport given cannot skip TLS verification; certificates are verified", "hosts", skip)
	}
	trips := newRoundTrips(t)
	// Inside out: timing, stall timeouts, size limits, redirect checks,
	// plain HTTP refused, private token realms, Retry-After, coalesced
	// uploads, remembered referrers 404s and pings.
	var guarded http.RoundTripper = stallTimeout{next: trips,
		header: orDefault(cfg.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		idle:   orDefault(cfg.BodyIdleTimeout, DefaultBodyIdleTimeout)}
	guarded = sizeLimit{next: guarded,
		manifest: orDefault(cfg.MaxManifestBytes, limits.MaxManifest), blobSize: orDefault(cfg.MaxBlobBytes, limits.MaxBlob)}
	guarded = redirects{next: guarded}
	guarded = newPrivateRealms(tlsOnly{insecure: insecure, next: guarded}, cfg.TokenRealms)
	r := &Registry{
		insecure:    insecure,
		skipVerify:  skip,
		credentials: slices.Clone(cfg.Credentials),
		transport:   newPingCache(newReferrersMemo(newMonolithicUpload(retryAfter{next: guarded, max: MaxRetryAfter, now: time.Now}))),
		trips:       trips,
		userAgent:   cfg.UserAgent,
		log:         log,
	}
	r.keychain = authn.NewMultiKeychain(staticKeychain(r.credentials), authn.DefaultKeychain)
	return r
}

func normalizeHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		h = strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://")
		h = strings.TrimSuffix(h, "/")
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// IsInsecure reports whether host may be reached over plain HTTP.
func (r *Registry) IsInsecure(host string) bool {
	return slices.Contains(r.insecure, host)
}

// SkipsTLSVerify reports whether host's TLS certificate is not verified.
func (r *Registry) SkipsTLSVerify(host string) bool {
	return slices.Contains(r.skipVerify, host)
}

// InsecureHosts returns the hosts that may be reached over plain HTTP.
func (r *Registry) InsecureHosts() []string { return slices.Clone(r.insecure) }

// Keychain returns the keychain: static credentials, then the docker config
// (with its credential helpers).
func (r *Registry) Keychain() authn.Keychain { return r.keychain }

// ShortestRoundTrip returns the shortest time a request to host (a
// registry's host or host:port) has taken so far in this invocation, from
// sending it to the response's headers; 0 before the first answer.
// Answers the transport makes up itself (a remembered ping) do not count.
func (r *Registry) ShortestRoundTrip(host string) time.Duration {
	return r.trips.shortest(host)
}

// Transport returns the shared base transport.
func (r *Registry) Transport() http.RoundTripper { return r.transport }

// RemoteOptions returns the go-containerregistry options every registry call
// of this invocation uses: 429, 408 and 5xx answers and network errors are
// retried up to 5 times with exponential backoff (250ms doubling, 20%
// jitter; 7.75s in all), each retry no sooner than a Retry-After answer
// asked (up to MaxRetryAfter). A blob upload is retried as a whole (its
// existence check, POST, PATCH and PUT): with 5 attempts, 1 release in 200
// failed under 10% registry faults (e2e TestReleaseUnderFaults).
func (r *Registry) RemoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithTransport(r.transport),
		remote.WithRetryBackoff(remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2.0, Jitter: 0.2, Steps: 6, Cap: 8 * time.Second}),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
	if r.userAgent != "" {
		opts = append(opts, remote.WithUserAgent(r.userAgent))
	}
	return opts
}

// CredentialSource names where credentials for host would come from, for
// error messages. It never returns a secret.
func (r *Registry) CredentialSource(host string) string {
	for _, c := range r.credentials {
		if c.Registry == host {
			return c.Source
		}
	}
	auth, err := authn.DefaultKeychain.Resolve(registryResource(host))
	if err != nil {
		return "docker config (unreadable: " + err.Error() + ")"
	}
	if auth == authn.Anonymous {
		return "none (anonymous)"
	}
	return "docker config"
}
