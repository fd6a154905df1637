package e2e

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// cosignVerify runs the real cosign CLI's verify with the tutorial's flags
// plus what the bed's private Sigstore needs, and fails the test unless it
// accepts the signature.
func cosignVerify(t *testing.T, b testbed, mode, reg, image, identity, annotation string) {
	t.Helper()
	args := []string{"verify", "--allow-insecure-registry", "--allow-http-registry",
		"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
		"--use-signed-timestamps", "--annotations", annotation,
		"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}
	if mode == "oci-1-1" {
		args = append(args, "--experimental-oci11")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Getenv("HALLMARK_TEST_COSIGN"), append(args, image)...)
	cmd.Env = append(e2etest.CleanEnv(nil), "COSIGN_EXPERIMENTAL=1", "TUF_ROOT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign verify rejected hallmark's signature (%s mode on %s): %v\n%s", mode, reg, err, out)
	}
}
