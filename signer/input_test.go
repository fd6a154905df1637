package signer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestNewBadInputIsConfig checks that key, certificate and CA files (or
// env:// variables) that cannot be read or parsed are ErrConfig — bad
// input, exit 2 in the CLI — with messages naming them, while a wrong
// password stays ErrKeyPassword.
func TestNewBadInputIsConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kp := signertest.Keys(t, "input")
	tests := []struct {
		name string
		o    signer.Options
		says string
	}{
		{"missing key file", signer.Options{Key: filepath.Join(dir, "nope.key")}, "nope.key"},
		{"key file not a key", signer.Options{Key: garbage}, "garbage.pem"},
		{"public key as the private key", signer.Options{Key: kp.Public}, "input.pub"},
		{"unset env:// key", signer.Options{Key: "env://HALLMARK_TEST_NO_SUCH_VAR"}, "HALLMARK_TEST_NO_SUCH_VAR"},
		{"certificate not PEM or DER", signer.Options{Key: kp.Private, Password: kp.Password, Certificate: garbage}, "garbage.pem"},
		{"service CA not PEM", signer.Options{Key: kp.Private, Password: kp.Password, ServiceCACert: garbage}, "garbage.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signer.New(context.Background(), tt.o)
			if !errors.Is(err, signer.ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.says) || strings.Contains(err.Error(), "invalid signer options") {
				t.Errorf("error %q: want it to name %q, unprefixed", err, tt.says)
			}
		})
	}
	_, err := signer.New(context.Background(), signer.Options{Key: kp.Private, Password: []byte("wrong")})
	if !errors.Is(err, signer.ErrKeyPassword) {
		t.Errorf("wrong password: %v, want ErrKeyPassword", err)
	}
}
