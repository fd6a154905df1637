package cli

import (
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSigningConfigExclusive: --signing-config with a service URL flag is
// one usage error naming both, before any request or write.
func TestSigningConfigExclusive(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, true)
	kp := signertest.Keys(t, "cli")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	d := reg.Image(t, "app")
	for _, flag := range []string{"--fulcio-url", "--rekor-url", "--timestamp-server-url"} {
		t.Run(flag, func(t *testing.T) {
			code, out, errOut := run(t, "sign", "--key", kp.Private, "--signing-config", "testdata-none.json",
				flag, "http://127.0.0.1:1", "--insecure-registry", reg.Host, d.String())
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if code != 2 || out != "" || !strings.Contains(last, "--signing-config") || !strings.Contains(last, flag) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}
