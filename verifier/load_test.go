package verifier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestVerifyUnloadableMaterial checks that key, CA, TSA chain and trusted
// root files that cannot be read or parsed are ErrLoad (bad input: exit 2
// in the CLI, not a failed verification) and that the error names them.
func TestVerifyUnloadableMaterial(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "root.json")
	if err := os.WriteFile(notJSON, []byte(`{"mediaType": 42`), 0o600); err != nil {
		t.Fatal(err)
	}
	ss := signertest.NewSigstore(t)
	keyless := verifier.Policy{Identity: "https://gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main", Issuer: "https://gitlab.example.com"}
	tests := []struct {
		name   string
		policy verifier.Policy
		trust  verifier.Trust
		says   string
	}{
		{"missing key", verifier.Policy{Key: filepath.Join(dir, "nope.pub")}, verifier.Trust{IgnoreTlog: true}, "nope.pub"},
		{"key not PEM", verifier.Policy{Key: garbage}, verifier.Trust{IgnoreTlog: true}, "garbage.pem"},
		{"unset env:// key", verifier.Policy{Key: "env://HALLMARK_TEST_NO_SUCH_VAR"}, verifier.Trust{IgnoreTlog: true}, "HALLMARK_TEST_NO_SUCH_VAR"},
		{"unknown KMS", verifier.Policy{Key: "nokms://key/1"}, verifier.Trust{IgnoreTlog: true}, "nokms://key/1"},
		{"missing trusted root", keyless, verifier.Trust{TrustedRoot: filepath.Join(dir, "nope.json"), IgnoreTlog: true, IgnoreSCT: true}, "nope.json"},
		{"trusted root not JSON", keyless, verifier.Trust{TrustedRoot: notJSON, IgnoreTlog: true, IgnoreSCT: true}, "root.json"},
		{"CA roots not PEM", keyless, verifier.Trust{CARoots: garbage, IgnoreTlog: true, IgnoreSCT: true}, "garbage.pem"},
		{"TSA chain not PEM", keyless, verifier.Trust{CARoots: ss.CARoots, CAIntermediates: ss.CAIntermediates, TimestampCertChain: garbage, IgnoreTlog: true, IgnoreSCT: true}, "garbage.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifier.Verify(context.Background(), d, verifier.Options{RemoteOptions: reg.Options, Policy: tt.policy, Trust: tt.trust})
			if !errors.Is(err, verifier.ErrLoad) {
				t.Fatalf("Verify = %v, want ErrLoad", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not name %q", err, tt.says)
			}
		})
	}
}
