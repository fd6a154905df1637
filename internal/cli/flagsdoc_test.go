package cli

import (
	"os"
	"testing"
)

// TestFlagsDocUpToDate fails when docs/flags.md is not what the flag
// groups generate: run `go generate ./internal/cli`.
func TestFlagsDocUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/flags.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != FlagsMarkdown() {
		t.Error("docs/flags.md differs from what the flag groups generate: run `go generate ./internal/cli`")
	}
}
