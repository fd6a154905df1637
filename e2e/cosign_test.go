package e2e

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// cosignReads is which storage modes each cosign CLI's `cosign verify`
// finds with the tutorial's line (no experimental flag), as README's
// consumer table says: cosign v3 reads bundles first and, when there are
// none, only the legacy .sig tag; cosign 2.6.5 reads the .sig tag, bundles
// (since 2.6.3; it ignores their -a annotations) and, with
// --experimental-oci11, simple-signing referrers.
var cosignReads = map[string]map[string]bool{
	"HALLMARK_TEST_COSIGN3": {"bundle": true, "legacy": true, "both": true, "oci-1-1": false},
	"HALLMARK_TEST_COSIGN":  {"bundle": true, "legacy": true, "both": true, "oci-1-1": true},
}

// cosignVerify verifies image with both cosign CLIs and the tutorial's
// flags plus trust (hallmark's trust flags, which are cosign's: the trusted
// root and any --insecure-ignore-* flag), and checks each accepts or
// refuses the signature as cosignReads says.
func cosignVerify(t *testing.T, b testbed, mode, reg, image, identity, annotation string, trust []string) {
	t.Helper()
	for _, cosign := range []string{"HALLMARK_TEST_COSIGN3", "HALLMARK_TEST_COSIGN"} {
		args := append([]string{"verify", "--allow-http-registry"}, trust...)
		args = append(args, "--annotations", annotation, "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer())
		env := []string{"TUF_ROOT=" + t.TempDir()}
		if cosign == "HALLMARK_TEST_COSIGN" {
			args = append(args, "--allow-insecure-registry", "--use-signed-timestamps")
			env = append(env, "COSIGN_EXPERIMENTAL=1")
			if mode == "oci-1-1" {
				args = append(args, "--experimental-oci11")
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, b.Getenv(cosign), append(args, image)...)
		cmd.Env = append(e2etest.CleanEnv(nil), env...)
		out, err := cmd.CombinedOutput()
		cancel()
		switch want := cosignReads[cosign][mode]; {
		case want && err != nil:
			t.Errorf("%s verify rejected hallmark's signature (%s mode on %s): %v\n%s", cosign, mode, reg, err, out)
		case !want && err == nil:
			t.Errorf("%s verify accepted hallmark's %s signature on %s, which README's table says it cannot read:\n%s", cosign, mode, reg, out)
		}
	}
}
