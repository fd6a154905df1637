package keyref

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cosign.pub")
	content := []byte("-----BEGIN PUBLIC KEY-----\n")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEYREF_TEST_KEY", string(content))
	tests := []struct {
		ref     string
		want    []byte // raw bytes on success
		badRef  bool   // the error is a BadRef
		message string // part of the error
	}{
		{ref: file, want: content},
		{ref: "env://KEYREF_TEST_KEY", want: content},
		{ref: filepath.Join(dir, "missing.pub"), badRef: true, message: "missing.pub"},
		{ref: "env://KEYREF_TEST_UNSET", badRef: true, message: "KEYREF_TEST_UNSET"},
		{ref: "nosuchkms://keys/1", badRef: true, message: "no KMS provider"},
		{ref: "http://127.0.0.1:1/cosign.pub", message: "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			raw, sv, err := Open(t.Context(), tt.ref)
			if tt.message == "" {
				if err != nil || sv != nil || !bytes.Equal(raw, tt.want) {
					t.Fatalf("Open = %q, %v, %v; want %q", raw, sv, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Open = %q, want an error", raw)
			}
			var bad *BadRef
			if errors.As(err, &bad) != tt.badRef {
				t.Errorf("error %v: BadRef %v, want %v", err, !tt.badRef, tt.badRef)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not name %q", err, tt.message)
			}
		})
	}
}
