package e2e

import (
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// untrustedTLSRegistry serves a registry over TLS with a certificate
// nobody trusts, on a non-loopback address of this machine (buildkitd
// reaches loopback registries over plain HTTP whatever they offer), until
// the test ends, and returns its host:port.
func untrustedTLSRegistry(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var ip net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Fatal("no non-loopback IPv4 address on this machine for a TLS registry buildkitd reaches over TLS")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	srv.Listener.Close()
	srv.Listener = l
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

// TestReleaseRegistryTLSVerification: --insecure-registry allows plain HTTP
// only. A release to a TLS registry whose certificate is not trusted fails
// with it alone, naming TLS; with --registry-skip-tls-verify it passes
// (buildkitd's push and hallmark's signing, verification and tagging).
func TestReleaseRegistryTLSVerification(t *testing.T) {
	b := bed(t)
	host := untrustedTLSRegistry(t)
	priv, _ := keyPair(t, "pw-tls")
	tests := []struct {
		name      string
		flags     []string
		wantCode  int
		fragments []string
	}{
		{"plain HTTP allowed only: TLS still verified", []string{"--insecure-registry", host}, exitBuild, []string{"TLS", "certificate", "--registry-skip-tls-verify"}},
		{"TLS verification skipped", []string{"--registry-skip-tls-verify", host}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			repo := uniqueRepo(t, host)
			sign, _ := defaultPathSign(t, b, "bundle")
			args := append(append([]string{"release", "--addr", b.BuildkitUnix(), "--context", ctxDir, "-f", df, "--progress", "quiet",
				"--image", repo, "--tag", "v1", "--key", priv}, sign...), tt.flags...)
			r := hallmark(t, []string{"COSIGN_PASSWORD=pw-tls"}, args...)
			if tt.wantCode != 0 {
				assertOneLineError(t, r, tt.wantCode, tt.fragments...)
				return
			}
			mustSucceed(t, r)
			rel := parseRelease(t, r)
			if len(rel.Tags) != 1 || !strings.HasPrefix(rel.Image, host+"/") {
				t.Errorf("released %s with tags %v", rel.Image, rel.Tags)
			}
		})
	}
}
