package verifier_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestEndlessTrustFiles: /dev/zero as the key, the trusted root, the CA
// roots or the TSA chain fails at once, naming the limit, instead of
// growing until the kernel kills the process.
func TestEndlessTrustFiles(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyless := verifier.Policy{Identity: "me", Issuer: "https://issuer"}
	for _, tt := range []struct {
		name   string
		policy verifier.Policy
		trust  verifier.Trust
	}{
		{"key", verifier.Policy{Key: "/dev/zero"}, verifier.Trust{IgnoreTlog: true}},
		{"trusted-root", keyless, verifier.Trust{TrustedRoot: "/dev/zero"}},
		{"ca-roots", keyless, verifier.Trust{CARoots: "/dev/zero", IgnoreTlog: true, IgnoreSCT: true}},
		{"tsa-chain", verifier.Policy{PublicKey: &priv.PublicKey}, verifier.Trust{TimestampCertChain: "/dev/zero", IgnoreTlog: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := verifier.New(context.Background(), verifier.Options{Policy: tt.policy, Trust: tt.trust})
			if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "limit of 4 MiB") {
				t.Fatalf("got %v, want the 4 MiB limit", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}
