package builder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestTLSRefusedHint(t *testing.T) {
	tlsOpts := TLS{CACert: "ca.pem", Cert: "client.pem", Key: "client-key.pem"}
	tests := []struct {
		name string
		t    TLS
		err  error
		want string
	}{
		{"refused client certificate", tlsOpts, errors.New("failed to call info: Unavailable: write tcp 1->2: write: " + syscall.EPIPE.Error()), "{builder.TLS.Cert} client.pem"},
		{"reset", tlsOpts, errors.New("read: connection reset by peer"), "signed by a CA it trusts"},
		{"no TLS", TLS{}, errors.New("write: broken pipe"), ""},
		{"another error", tlsOpts, errors.New("connection refused"), ""},
	}
	for _, tt := range tests {
		got := tlsRefusedHint(tt.t, tt.err)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: hint %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestServerCertHint(t *testing.T) {
	tlsOpts := TLS{CACert: "ca.pem", Cert: "client.pem", Key: "client-key.pem"}
	// gRPC's words for a certificate the client refused.
	wrongName := errors.New("failed to call info: Unavailable: connection error: desc = \"transport: authentication handshake failed: " +
		"tls: failed to verify certificate: x509: certificate is valid for buildkitd-0.buildkitd, not buildkitd-2.buildkitd\"")
	unknownCA := errors.New("transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority")
	tests := []struct {
		name string
		t    TLS
		err  error
		want string
	}{
		{"certificate for other names", tlsOpts, wrongName, "{builder.TLS.CACert} ca.pem and name the host dialled"},
		{"unknown CA", tlsOpts, unknownCA, "{builder.TLS.ServerName}"},
		{"no TLS", TLS{}, wrongName, ""},
		{"refused connection", tlsOpts, errors.New("connection refused"), ""},
	}
	for _, tt := range tests {
		got := serverCertHint(tt.t, tt.err)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: hint %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidateChecksSecretsAndSSH(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := Request{ContextDir: dir, Tags: nil}
	req.Tags = append(req.Tags, mustTag(t, "reg.example/a:1"))
	req.Secrets = []string{"id=s,src=" + filepath.Join(dir, "nope.secret")}
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "nope.secret") {
		t.Errorf("missing secret file: Validate() = %v, want it named", err)
	}
	req.Secrets = nil
	req.SSH = []string{"id=" + filepath.Join(dir, "nope_ed25519")}
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "nope_ed25519") {
		t.Errorf("missing ssh key: Validate() = %v, want it named", err)
	}
}
