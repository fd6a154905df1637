package builder

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

func TestDefaultAddresses(t *testing.T) {
	got := DefaultAddresses("/run/user/1000")
	want := []string{"unix:///run/user/1000/buildkit/buildkitd.sock", "unix:///run/buildkit/buildkitd.sock"}
	if !slices.Equal(got, want) {
		t.Errorf("DefaultAddresses = %v, want %v", got, want)
	}
	if got := DefaultAddresses(""); !slices.Equal(got, want[1:]) {
		t.Errorf("DefaultAddresses(\"\") = %v, want %v", got, want[1:])
	}
}

func TestResolveAddress(t *testing.T) {
	rt := t.TempDir()
	if got, err := ResolveAddress(ConnectOptions{Addr: "tcp://b:1234", RuntimeDir: rt}); err != nil || got != "tcp://b:1234" {
		t.Errorf("explicit address: got %q, %v", got, err)
	}
	if _, err := os.Stat(RootfulSocket); err == nil {
		t.Skip("a system buildkitd socket exists; discovery would find it")
	}
	_, err := ResolveAddress(ConnectOptions{RuntimeDir: rt})
	if !errors.Is(err, ErrNoBuildkitd) || !strings.Contains(err.Error(), rt) {
		t.Fatalf("no socket: err = %v, want ErrNoBuildkitd naming %s", err, rt)
	}
	sock := filepath.Join(rt, "buildkit", "buildkitd.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ResolveAddress(ConnectOptions{RuntimeDir: rt}); err != nil || got != "unix://"+sock {
		t.Errorf("rootless socket: got %q, %v", got, err)
	}
}

func TestConnectOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testutil.ClientCertificate(t, dir, "client")
	_, otherCert, otherKey := testutil.ClientCertificate(t, dir, "other")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := TLS{CACert: ca, Cert: cert, Key: key}
	tests := []struct {
		name    string
		opts    ConnectOptions
		wantErr string
	}{
		{"unix", ConnectOptions{Addr: "unix:///run/buildkit/buildkitd.sock"}, ""},
		{"kube-pod", ConnectOptions{Addr: "kube-pod://buildkitd-0"}, ""},
		{"tcp with mTLS", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: full}, ""},
		{"tcp plain refused", ConnectOptions{Addr: "tcp://127.0.0.1:1234"}, "tcp without TLS"},
		{"tcp plain allowed", ConnectOptions{Addr: "tcp://127.0.0.1:1234", AllowInsecureTCP: true}, ""},
		{"tcp missing key flag", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: ca, Cert: cert}}, "needs {builder.TLS.Key}"},
		{"tcp missing file", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: filepath.Join(dir, "nope.pem"), Cert: cert, Key: key}}, "{builder.TLS.CACert}"},
		{"TLS on unix", ConnectOptions{Addr: "unix:///x.sock", TLS: full}, "only to tcp://"},
		{"CA file not PEM", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: garbage, Cert: cert, Key: key}}, "{builder.TLS.CACert} " + garbage},
		{"key of another certificate", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: ca, Cert: cert, Key: otherKey}}, "{builder.TLS.Key} " + otherKey},
		{"certificate not PEM", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: ca, Cert: garbage, Key: key}}, "{builder.TLS.Cert} " + garbage},
		{"another pair", ConnectOptions{Addr: "tcp://127.0.0.1:1234", TLS: TLS{CACert: ca, Cert: otherCert, Key: otherKey}}, ""},
		{"no scheme", ConnectOptions{Addr: "127.0.0.1:1234"}, "invalid buildkitd address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}
