package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// privateRealms lets a registry on a private network send clients to a
// token service on another private address — the usual GitLab
// Self-Managed layout, the registry on one internal host and the token
// realm on the GitLab host. go-containerregistry refuses a bearer realm
// whose host is a private, loopback or link-local IP literal (other than
// the registry's own host:port), against a registry pointing clients at
// internal services; it has no option to relax that, but it checks IP
// literals only. So when a registry's challenge names such a realm and
// the realm is acceptable — the registry is itself on a private network
// or loopback (an IP literal, or a name resolving only to such addresses)
// and the realm is private or loopback, not link-local; or the user named
// the realm's host in Config.TokenRealms — the realm's host is replaced in
// the challenge by an alias name (realm-N.hallmark.invalid) and requests
// to the alias are sent to the real host here. A public registry naming
// a private realm is left to go-containerregistry's refusal.
type privateRealms struct {
	next    http.RoundTripper
	allowed []string // Config.TokenRealms: host or host:port
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	mu      sync.Mutex
	aliases map[string]string // alias host → real host (both without port)
	byHost  map[string]string // real host → alias
	private map[string]bool   // registry host → on a private network
}

const aliasSuffix = ".hallmark.invalid"

func newPrivateRealms(next http.RoundTripper, allowed []string) *privateRealms {
	return &privateRealms{next: next, allowed: normalizeHosts(allowed),
		resolve: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		aliases: map[string]string{}, byHost: map[string]string{}, private: map[string]bool{}}
}

func (t *privateRealms) RoundTrip(req *http.Request) (*http.Response, error) {
	if real, ok := t.real(req.URL.Hostname()); ok {
		r := req.Clone(req.Context())
		r.URL.Host = joinPort(real, req.URL.Port())
		r.Host = r.URL.Host
		req = r
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	for i, v := range resp.Header.Values("WWW-Authenticate") {
		if nv, ok := t.rewrite(req, v); ok {
			resp.Header["Www-Authenticate"][i] = nv
		}
	}
	return resp, nil
}

func (t *privateRealms) real(host string) (string, bool) {
	if !strings.HasSuffix(host, aliasSuffix) {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	real, ok := t.aliases[host]
	return real, ok
}

var realmParam = regexp.MustCompile(`(?i)(\brealm\s*=\s*")([^"]*)(")`)

// rewrite replaces an acceptable private realm's host in a Bearer
// challenge by its alias.
func (t *privateRealms) rewrite(req *http.Request, challenge string) (string, bool) {
	m := realmParam.FindStringSubmatchIndex(challenge)
	if m == nil || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(challenge)), "bearer") {
		return "", false
	}
	realm := challenge[m[4]:m[5]]
	u, err := url.Parse(realm)
	if err != nil || u.Host == "" || u.Host == req.URL.Host || !t.acceptable(req, u) {
		return "", false
	}
	u.Host = joinPort(t.alias(u.Hostname()), u.Port())
	return challenge[:m[4]] + u.String() + challenge[m[5]:], true
}

// acceptable says whether realm u, an IP literal go-containerregistry
// would refuse, may be used for the registry req was sent to.
func (t *privateRealms) acceptable(req *http.Request, u *url.URL) bool {
	addr, err := netip.ParseAddr(strings.Split(u.Hostname(), "%")[0])
	if err != nil {
		return false // a name: go-containerregistry accepts it as is
	}
	addr = addr.Unmap()
	if !addr.IsPrivate() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast() && !addr.IsUnspecified() {
		return false // public: accepted as is
	}
	if slices.Contains(t.allowed, u.Host) || slices.Contains(t.allowed, u.Hostname()) {
		return true
	}
	if !addr.IsPrivate() && !addr.IsLoopback() {
		return false // link-local (cloud metadata) only when named
	}
	return t.onPrivateNetwork(req.Context(), req.URL.Hostname())
}

// onPrivateNetwork says whether the registry host is a private or loopback
// address, or a name all of whose addresses are.
func (t *privateRealms) onPrivateNetwork(ctx context.Context, host string) bool {
	t.mu.Lock()
	v, known := t.private[host]
	t.mu.Unlock()
	if known {
		return v
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, _ = t.resolve(ctx, host)
		cancel()
	}
	v = len(addrs) > 0
	for _, a := range addrs {
		a = a.Unmap()
		v = v && (a.IsPrivate() || a.IsLoopback())
	}
	t.mu.Lock()
	t.private[host] = v
	t.mu.Unlock()
	return v
}

func (t *privateRealms) alias(host string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.byHost[host]; ok {
		return a
	}
	a := fmt.Sprintf("realm-%d%s", len(t.byHost)+1, aliasSuffix)
	t.byHost[host], t.aliases[a] = a, host
	return a
}

func joinPort(host, port string) string {
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}
