package cli

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOptionFlags: every option reference in the libraries' sources has a
// flag here, and every flag named here exists, so that a renamed flag or a
// new reference cannot leave a message without its hint.
func TestOptionFlags(t *testing.T) {
	var names []string
	for _, cmd := range commands(&env{stdout: io.Discard, stderr: io.Discard}) {
		for _, f := range groupFlags(cmd.groups...) {
			names = append(names, f.Names()...)
		}
	}
	flagName := regexp.MustCompile(`-{1,2}([a-z][a-z-]*)`)
	for ref, flags := range optionFlags {
		for _, m := range flagName.FindAllStringSubmatch(flags, -1) {
			if !slices.Contains(names, m[1]) {
				t.Errorf("%s: no flag %s", ref, m[0])
			}
		}
	}
	for _, dir := range []string{"builder", "builder/pool", "ci", "doctor", "registry", "release", "signer", "verifier"} {
		files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range optionRef.FindAllStringSubmatch(string(b), -1) {
				if _, ok := optionFlags[m[1]]; !ok {
					t.Errorf("%s refers to {%s}, which optionFlags does not map to a flag", f, m[1])
				}
			}
		}
	}
}

func TestRenderOptions(t *testing.T) {
	got := renderOptions("give {builder.TLS.CACert}, {builder.TLS.Cert} and {builder.TLS.Key}; {SIGSTORE_ID_TOKEN: {aud: sigstore}} {x.Y.Unknown}")
	want := "give --tlscacert, --tlscert and --tlskey; {SIGSTORE_ID_TOKEN: {aud: sigstore}} {x.Y.Unknown}"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
