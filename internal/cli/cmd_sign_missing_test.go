package cli

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignMissingDigest signs a digest the registry does not have, in
// every layout: exit 4, one line naming it, and no signature stored (the
// legacy layout would otherwise store one for a mistyped digest).
func TestSignMissingDigest(t *testing.T) {
	noCI(t)
	kp := signertest.Keys(t, "missing")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	for _, mode := range signer.Modes {
		t.Run(string(mode), func(t *testing.T) {
			reg := signertest.NewRegistry(t, false)
			d := reg.Image(t, "app")
			missing := d.Context().Digest("sha256:" + strings.Repeat("0", 64))
			code, out, errOut := run(t, "sign", "--insecure-registry", reg.Host, "--key", kp.Private, "--tlog-upload=false",
				"--registry-referrers-mode", string(mode), missing.String())
			if code != exitSign || out != "" || !strings.Contains(errOut, "no image "+missing.String()) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 4 and one line naming the digest", code, out, errOut)
			}
			tags, err := remote.List(d.Context(), reg.Options...)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range tags {
				if strings.HasPrefix(tag, "sha256-") {
					t.Errorf("a signature tag %s was written", tag)
				}
			}
		})
	}
}
