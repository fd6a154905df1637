package signer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestEndlessKeyFiles: /dev/zero as the key, its certificate or chain, or
// the service CA file fails at once, naming the limit.
func TestEndlessKeyFiles(t *testing.T) {
	kp := signertest.Keys(t, "a")
	for _, tt := range []struct {
		name string
		o    signer.Options
	}{
		{"key", signer.Options{Key: "/dev/zero"}},
		{"certificate", signer.Options{Key: kp.Private, Password: kp.Password, Certificate: "/dev/zero"}},
		{"service-ca", signer.Options{Key: kp.Private, Password: kp.Password, ServiceCACert: "/dev/zero"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := signer.New(context.Background(), tt.o)
			if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "limit of 4 MiB") {
				t.Fatalf("got %v, want the 4 MiB limit", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}
