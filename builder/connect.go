package builder

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"

	"github.com/hallmark-dev/hallmark/internal/limits"
	// Connection helpers for kube-pod:// and docker-container:// addresses.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
)

// RootfulSocket is where a system buildkitd listens by default.
const RootfulSocket = "/run/buildkit/buildkitd.sock"

// ErrNoBuildkitd is returned when no address was given and no default
// socket exists.
var ErrNoBuildkitd = errors.New("no buildkitd found")

// TLS is the client side of mutual TLS to a tcp:// buildkitd.
type TLS struct {
	// CACert is the PEM file of the CA that signed buildkitd's certificate.
	CACert string
	// Cert and Key are the client certificate and key (PEM files).
	Cert, Key string
	// ServerName overrides the name checked in buildkitd's certificate.
	ServerName string
}

func (t TLS) empty() bool { return t == TLS{} }

// ConnectOptions says how to reach buildkitd.
type ConnectOptions struct {
	// Addr is the buildkitd address: unix://, tcp://, kube-pod://,
	// docker-container://. Empty means the first existing default socket
	// (see DefaultAddresses).
	Addr string
	// RuntimeDir is $XDG_RUNTIME_DIR, where a rootless buildkitd listens.
	RuntimeDir string
	// TLS configures mutual TLS for tcp:// addresses.
	TLS TLS
	// AllowInsecureTCP allows tcp:// without TLS. Off by default.
	AllowInsecureTCP bool
	// Timeout bounds the first contact with buildkitd; zero means 10s.
	Timeout time.Duration
}

// DefaultAddresses lists the sockets tried when no address is given:
// the rootless socket under runtimeDir first, then the system socket.
func DefaultAddresses(runtimeDir string) []string {
	var addrs []string
	if runtimeDir != "" {
		addrs = append(addrs, "unix://"+filepath.Join(runtimeDir, "buildkit", "buildkitd.sock"))
	}
	return append(addrs, "unix://"+RootfulSocket)
}

// ResolveAddress returns the address to dial: opts.Addr, or the first
// default socket that exists.
func ResolveAddress(opts ConnectOptions) (string, error) {
	if opts.Addr != "" {
		return opts.Addr, nil
	}
	tried := DefaultAddresses(opts.RuntimeDir)
	for _, a := range tried {
		if _, err := os.Stat(strings.TrimPrefix(a, "unix://")); err == nil {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w at %s: start buildkitd (rootless: rootlesskit buildkitd) or set {builder.ConnectOptions.Addr}",
		ErrNoBuildkitd, strings.Join(tried, " or "))
}

// clientOptions validates the address and TLS settings and returns the
// BuildKit client options for them.
func clientOptions(addr string, t TLS, allowInsecureTCP bool) ([]client.ClientOpt, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("invalid buildkitd address %q: want unix:///path, tcp://host:port, kube-pod://POD or docker-container://NAME", addr)
	}
	if u.Scheme != "tcp" {
		if !t.empty() {
			return nil, fmt.Errorf("TLS flags apply only to tcp:// buildkitd addresses, not %q", addr)
		}
		return nil, nil
	}
	if t.empty() {
		if allowInsecureTCP {
			return nil, nil
		}
		return nil, fmt.Errorf("buildkitd address %s is tcp without TLS: give {builder.TLS.CACert}, {builder.TLS.Cert} and {builder.TLS.Key} (or {builder.ConnectOptions.AllowInsecureTCP} to allow plain tcp)", addr)
	}
	for flag, path := range map[string]string{"{builder.TLS.CACert}": t.CACert, "{builder.TLS.Cert}": t.Cert, "{builder.TLS.Key}": t.Key} {
		if path == "" {
			return nil, fmt.Errorf("mutual TLS to %s needs %s", addr, flag)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("TLS file for %s: %w", flag, err)
		}
	}
	if err := checkTLSFiles(t); err != nil {
		return nil, err
	}
	serverName := t.ServerName
	if serverName == "" {
		serverName = u.Hostname()
	}
	return []client.ClientOpt{client.WithServerConfig(serverName, t.CACert), client.WithCredentials(t.Cert, t.Key)}, nil
}

// checkTLSFiles parses the TLS files, so that a wrong one is named (the
// BuildKit client says only "failed to append ca certs").
func checkTLSFiles(t TLS) error {
	ca, err := limits.ReadFile(t.CACert, 0)
	if err != nil {
		return fmt.Errorf("TLS file for {builder.TLS.CACert}: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return fmt.Errorf("{builder.TLS.CACert} %s holds no PEM certificate", t.CACert)
	}
	if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
		return fmt.Errorf("{builder.TLS.Cert} %s and {builder.TLS.Key} %s: %w", t.Cert, t.Key, err)
	}
	return nil
}

// tlsRefusedHint explains a connection buildkitd closed during or right
// after the TLS handshake: with TLS 1.3 the client learns that its
// certificate was refused only as a broken connection.
func tlsRefusedHint(t TLS, err error) string {
	msg := err.Error()
	if t.empty() || !(strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "bad certificate") ||
		strings.Contains(msg, "certificate required") || strings.Contains(msg, "unknown certificate authority")) {
		return ""
	}
	return fmt.Sprintf(" (buildkitd closed the TLS connection: is {builder.TLS.Cert} %s signed by a CA it trusts?)", t.Cert)
}

// serverCertHint explains a buildkitd certificate hallmark refused (a CA
// it does not trust, or a certificate for other names); "" for other
// errors.
func serverCertHint(t TLS, err error) string {
	if t.empty() || !strings.Contains(err.Error(), "failed to verify certificate") {
		return ""
	}
	return fmt.Sprintf("buildkitd's certificate must be signed by the CA in {builder.TLS.CACert} %s and name the host dialled, or the name in {builder.TLS.ServerName}", t.CACert)
}

// Validate checks the address and TLS settings without dialing.
func (o ConnectOptions) Validate() error {
	addr, err := ResolveAddress(o)
	if err != nil {
		return err
	}
	_, err = clientOptions(addr, o.TLS, o.AllowInsecureTCP)
	return err
}

// Builder builds images on one buildkitd.
type Builder struct {
	c    *client.Client
	addr string
}

// Connect dials buildkitd and checks that it answers.
func Connect(ctx context.Context, opts ConnectOptions) (*Builder, error) {
	addr, err := ResolveAddress(opts)
	if err != nil {
		return nil, err
	}
	copts, err := clientOptions(addr, opts.TLS, opts.AllowInsecureTCP)
	if err != nil {
		return nil, err
	}
	c, err := client.New(ctx, addr, copts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to buildkitd at %s: %w", addr, err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := c.Info(pctx); err != nil {
		c.Close()
		if hint := tlsRefusedHint(opts.TLS, err); hint != "" {
			return nil, fmt.Errorf("cannot reach buildkitd at %s: %s%s", addr, cleanError(err), hint)
		}
		hint := serverCertHint(opts.TLS, err)
		if hint == "" {
			hint = unreachableHint(addr)
		}
		return nil, &TransportError{Addr: addr, Err: fmt.Errorf("cannot reach buildkitd at %s: %s; %s", addr, cleanError(err), hint)}
	}
	return &Builder{c: c, addr: addr}, nil
}

// unreachableHint says what to check when buildkitd at addr does not
// answer.
func unreachableHint(addr string) string {
	scheme, rest, _ := strings.Cut(addr, "://")
	target, _, _ := strings.Cut(rest, "?")
	switch scheme {
	case "kube-pod":
		return fmt.Sprintf("check that kubectl reaches the cluster (its context and namespace) and that pod %s runs buildkitd with buildctl in its image", target)
	case "docker-container":
		return fmt.Sprintf("check that docker reaches its engine and that container %s runs buildkitd with buildctl in its image", target)
	}
	return "start buildkitd there or point {builder.ConnectOptions.Addr} at a running one"
}

// Addr returns the address of the connected buildkitd.
func (b *Builder) Addr() string { return b.addr }

// Info returns buildkitd's version information.
func (b *Builder) Info(ctx context.Context) (*client.Info, error) { return b.c.Info(ctx) }

// Close closes the connection.
func (b *Builder) Close() error { return b.c.Close() }

// Platforms returns the platforms buildkitd's workers build natively
// (ListWorkers), in the workers' order, each once.
func (b *Builder) Platforms(ctx context.Context) ([]string, error) {
	workers, err := b.c.ListWorkers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the workers of buildkitd at %s: %s", b.addr, cleanError(err))
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range workers {
		for _, p := range w.Platforms {
			if s := platforms.Format(p); !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out, nil
}
