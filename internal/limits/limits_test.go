package limits_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := limits.ReadFile(small, 3); err != nil || string(b) != "key" {
		t.Fatalf("ReadFile at its limit: %q, %v", b, err)
	}
	_, err := limits.ReadFile(small, 2)
	var tl *limits.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, limits.ErrTooLarge) || tl.Limit != 2 {
		t.Fatalf("ReadFile past its limit: %v", err)
	}
	start := time.Now()
	_, err = limits.ReadFile("/dev/zero", 0)
	if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "/dev/zero is larger than the limit of 4 MiB") {
		t.Fatalf("ReadFile(/dev/zero): %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("ReadFile(/dev/zero) took %v", d)
	}
}

func TestReader(t *testing.T) {
	b, err := io.ReadAll(limits.Reader(bytes.NewReader(make([]byte, 10)), 10, "x"))
	if err != nil || len(b) != 10 {
		t.Fatalf("at the limit: %d, %v", len(b), err)
	}
	b, err = io.ReadAll(limits.Reader(bytes.NewReader(make([]byte, 11)), 10, "x"))
	if !errors.Is(err, limits.ErrTooLarge) || len(b) != 10 {
		t.Fatalf("past the limit: %d, %v", len(b), err)
	}
	if got := limits.Size(8 << 20); got != "8 MiB" {
		t.Fatal(got)
	}
}
