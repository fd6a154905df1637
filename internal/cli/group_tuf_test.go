package cli

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignVerifyFromTUF signs keyless and verifies with the bed's whole
// Sigstore (Fulcio with its CT log, Rekor v2, the TSA) named by nothing
// but a TUF repository — its trusted_root.json and signing config served
// on loopback — and its root.json: the default path cosign v3 takes with
// public-good's TUF, with no trust or service flag and no insecure one.
func TestSignVerifyFromTUF(t *testing.T) {
	noCI(t)
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	if bed.SigningConfig == "" || bed.SigstoreTrustedRoot == "" {
		t.Skip("the bed has no signing config (HALLMARK_TEST_SIGNING_CONFIG)")
	}
	t.Setenv("HOME", t.TempDir()) // the TUF cache
	targets := map[string][]byte{}
	for name, path := range map[string]string{"trusted_root.json": bed.SigstoreTrustedRoot, "signing_config.v0.2.json": bed.SigningConfig} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		targets[name] = b
	}
	mirror, root := testutil.TUFRepo(t, targets)
	tuf := []string{"--tuf-mirror", mirror, "--tuf-root", root}

	reg := bed.Registries[1]
	d := reg.Image(t, "hallmark-e2e/tuf").String()
	token := bed.Token(t, url.Values{"project_path": {"group/app"}})
	code, out, errOut := run(t, append(append([]string{"sign", "--identity-token", token, "--no-ci-annotations", "-a", "tag=v1",
		"--insecure-registry", reg.Host}, tuf...), d)...)
	if code != 0 || strings.TrimSpace(out) != d {
		t.Fatalf("sign: exit %d, stderr %q", code, errOut)
	}
	policy := []string{"--certificate-identity", bed.Identity("group/app"), "--certificate-oidc-issuer", bed.Issuer, "-a", "tag=v1", "--insecure-registry", reg.Host}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"from TUF", tuf, 0, "1 of 1 signatures match"},
		{"another identity", append([]string{"--certificate-identity", bed.Identity("group/other")}, tuf...), exitVerify, "identity: want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, append(append(append([]string{"verify"}, policy...), tc.args...), d)...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.contains)
			}
		})
	}
}
