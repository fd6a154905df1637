package examples_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// defaultSANs are the names create-certs.sh puts in buildkitd's certificate
// when given none.
var defaultSANs = []string{"buildkitd", "localhost", "127.0.0.1"}

// makeCerts runs create-certs.sh into a fresh directory.
func makeCerts(t *testing.T, sans ...string) string {
	t.Helper()
	requireTool(t, "openssl")
	dir := filepath.Join(t.TempDir(), "certs")
	script, err := filepath.Abs(createCerts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), script, append([]string{dir}, sans...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("create-certs.sh: %v\n%s", err, out)
	}
	return dir
}

// loadSecrets decodes the Secret manifests create-certs.sh wrote: Secret
// name -> key -> content.
func loadSecrets(t *testing.T, dir string) map[string]map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("want two Secret manifests in %s, got %v (%v)", dir, files, err)
	}
	out := map[string]map[string][]byte{}
	for _, f := range files {
		var s secret
		decodeStrict(t, f, &s)
		if s.APIVersion != "v1" || s.Kind != "Secret" || s.Metadata.Name == "" || s.Type != "Opaque" {
			t.Fatalf("%s: %s %s %q type %q, want a named v1 Secret of type Opaque", f, s.APIVersion, s.Kind, s.Metadata.Name, s.Type)
		}
		out[s.Metadata.Name] = map[string][]byte{}
		for k, v := range s.Data {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("%s: data %s: %v", f, k, err)
			}
			out[s.Metadata.Name][k] = b
		}
	}
	return out
}

// podTLSFiles reads, through the pod's mounts, the contents each side's TLS
// flags point at: side ("buildkitd", "hallmark") -> flag -> content.
func podTLSFiles(t *testing.T, l podLink, secrets map[string]map[string][]byte) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for side, c := range map[string]container{"buildkitd": l.buildkitd, "hallmark": l.hallmark} {
		files := l.daemonTLS
		if side == "hallmark" {
			files = l.clientTLS
		}
		out[side] = map[string][]byte{}
		for _, f := range tlsFlags {
			name, key, err := l.pod.secretFile(c, files[f])
			if err != nil {
				t.Fatalf("%s --%s: %v", side, f, err)
			}
			b, ok := secrets[name][key]
			if !ok {
				t.Fatalf("%s --%s reads Secret %s key %s; create-certs.sh makes no such Secret key (it makes %v)", side, f, name, key, secretKeys(secrets))
			}
			out[side][f] = b
		}
	}
	return out
}

func secretKeys(secrets map[string]map[string][]byte) []string {
	var out []string
	for name, data := range secrets {
		for k := range data {
			out = append(out, name+"/"+k)
		}
	}
	slices.Sort(out)
	return out
}

func certPool(t *testing.T, pemBytes []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in CA file")
	}
	return p
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		t.Fatal("no PEM block in certificate file")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreateCertsMatchPod makes certificates with create-certs.sh and
// reads them through runner-pod.yaml's mounts: the Secrets have the keys
// the pod reads, buildkitd's certificate is valid for the name hallmark
// checks, hallmark's for client auth, and the two complete a mutual-TLS
// handshake.
func TestCreateCertsMatchPod(t *testing.T) {
	dir := makeCerts(t)
	secrets := loadSecrets(t, dir)
	l := loadRunnerPod(t)
	files := podTLSFiles(t, l, secrets)
	daemon, client := files["buildkitd"], files["hallmark"]

	// The Secret manifests hold the files the script wrote next to them.
	for name, sub := range map[string]string{"buildkit-daemon-certs": "daemon", "buildkit-client-certs": "client"} {
		for key, b := range secrets[name] {
			onDisk, err := os.ReadFile(filepath.Join(dir, sub, key))
			if err != nil || !bytes.Equal(onDisk, b) {
				t.Errorf("Secret %s key %s differs from %s/%s (%v)", name, key, sub, key, err)
			}
		}
	}

	server := parseCert(t, daemon["tlscert"])
	var sans []string
	sans = append(sans, server.DNSNames...)
	for _, ip := range server.IPAddresses {
		sans = append(sans, ip.String())
	}
	if !slices.Equal(slices.Sorted(slices.Values(sans)), slices.Sorted(slices.Values(defaultSANs))) {
		t.Errorf("buildkitd's certificate names %v, want %v", sans, defaultSANs)
	}
	name := l.serverName
	if name == "" {
		name = l.dial.Hostname()
	}
	// Every name a client of the examples checks: the pod's (server name or
	// address) and the GitLab service alias (TestGitLabReleaseMTLS).
	for _, n := range []string{name, l.dial.Hostname(), "buildkitd"} {
		if err := server.VerifyHostname(n); err != nil {
			t.Errorf("buildkitd's certificate is not valid for %s: %v", n, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: certPool(t, client["tlscacert"]), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("hallmark's CA does not accept buildkitd's certificate for server auth: %v", err)
	}
	if _, err := parseCert(t, client["tlscert"]).Verify(x509.VerifyOptions{Roots: certPool(t, daemon["tlscacert"]), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("buildkitd's CA does not accept hallmark's certificate for client auth: %v", err)
	}
	mutualTLSHandshake(t, daemon, client, name)
}

// mutualTLSHandshake runs a TLS server with buildkitd's files (client
// certificates required, as buildkitd does with --tlscacert) and a client
// with hallmark's, and exchanges a byte.
func mutualTLSHandshake(t *testing.T, daemon, client map[string][]byte, serverName string) {
	t.Helper()
	srvCert, err := tls.X509KeyPair(daemon["tlscert"], daemon["tlskey"])
	if err != nil {
		t.Fatalf("buildkitd's certificate and key: %v", err)
	}
	cliCert, err := tls.X509KeyPair(client["tlscert"], client["tlskey"])
	if err != nil {
		t.Fatalf("hallmark's certificate and key: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    certPool(t, daemon["tlscacert"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.Copy(c, io.LimitReader(c, 1))
		done <- err
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{
		Certificates: []tls.Certificate{cliCert},
		RootCAs:      certPool(t, client["tlscacert"]),
		ServerName:   serverName,
	})
	if err != nil {
		t.Fatalf("mutual TLS handshake as %s: %v", serverName, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(conn, b); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server side: %v", err)
	}
}

// TestCreateCertsSANs checks how create-certs.sh reads SAN arguments.
func TestCreateCertsSANs(t *testing.T) {
	dir := makeCerts(t, "buildkitd.ci.svc.cluster.local", "10.0.0.7", "::1", "DNS:other", "IP:192.0.2.1")
	server := parseCert(t, loadSecrets(t, dir)["buildkit-daemon-certs"]["cert.pem"])
	if want := []string{"buildkitd.ci.svc.cluster.local", "other"}; !slices.Equal(server.DNSNames, want) {
		t.Errorf("DNS names %v, want %v", server.DNSNames, want)
	}
	var ips []string
	for _, ip := range server.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"10.0.0.7", "::1", "192.0.2.1"}; !slices.Equal(ips, want) {
		t.Errorf("IP addresses %v, want %v", ips, want)
	}
	for _, key := range []string{"ca/ca-key.pem", "daemon/key.pem", "client/key.pem"} {
		st, err := os.Stat(filepath.Join(dir, key))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", key, st.Mode())
		}
	}
}

// TestCreateCertsRefusesNonEmptyDir: the script never overwrites keys.
func TestCreateCertsRefusesNonEmptyDir(t *testing.T) {
	requireTool(t, "openssl")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(createCerts)
	out, err := exec.CommandContext(t.Context(), script, dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not empty") {
		t.Errorf("create-certs.sh into a non-empty directory: err %v, output %s", err, out)
	}
}
