package builder

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeTLSFiles writes a self-signed CA and a client certificate and key
// signed by it into dir, named after name, and returns their paths.
func writeTLSFiles(t *testing.T, dir, name string) (ca, cert, key string) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key = filepath.Join(dir, name+"-ca.pem"), filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	for path, block := range map[string]*pem.Block{ca: {Type: "CERTIFICATE", Bytes: caDER}, cert: {Type: "CERTIFICATE", Bytes: der},
		key: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

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
