package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// cosignCommandPrefix starts the stderr line of hallmark verify that holds
// the equivalent cosign command; the command follows the last ": cosign ".
const cosignCommandPrefix = "hallmark: the same check with cosign v3"

// TestCosignCommand pastes the cosign command hallmark verify prints: for
// every signature format on both registries, keyless (exact identity, and
// regexps; TSA only, and Rekor v2 with every check on) and keyed, the
// printed line run by bash with `cosign` replaced by the bed's cosign
// v3.1.3 must pass, and so must cosign 2.6.5 (which, for bundles, ignores
// the annotations: README's consumer table). The annotation's value needs
// shell quoting. The same line with another identity must fail.
func TestCosignCommand(t *testing.T) {
	b := bed(t)
	b.RequireTransparency() // cosign v3.1.3, Rekor v2
	sign, trust := b.Sigstore()
	tlogSign := []string{"--fulcio-url", b.Getenv("HALLMARK_TEST_FULCIO_URL"), "--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"),
		"--trusted-root", b.SigstoreTrustedRoot(), "--rekor-url", b.RekorURL(), "--rekor-version", "2"}
	tlogTrust := []string{"--trusted-root", b.SigstoreTrustedRoot()}
	priv, pub := keyPair(t, "cosign-command")
	const note = "note=two words: it's $HOME"
	tests := []struct {
		name   string
		mode   string   // storageArgs's, or "both-formats"
		keyed  bool     // --key instead of keyless
		policy []string // instead of the exact identity and issuer
		tlog   bool     // Rekor v2 and the instance's trusted root, every check on
	}{
		{name: "bundle", mode: "bundle"},
		{name: "legacy", mode: "legacy"},
		{name: "oci-1-1", mode: "oci-1-1"},
		{name: "both layouts", mode: "both"},
		{name: "both formats", mode: "both-formats"},
		{name: "bundle regexp", mode: "bundle", policy: []string{"--certificate-identity-regexp", "^https://.*/group/app//.*$", "--certificate-oidc-issuer-regexp", "^https://127[.]0[.]0[.]1:.*"}},
		{name: "bundle keyed", mode: "bundle", keyed: true},
		{name: "bundle tlog", mode: "bundle", tlog: true},
		{name: "legacy keyed", mode: "legacy", keyed: true},
	}
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, tt := range tests {
			t.Run(registryName(b, reg)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				repo, digest := pushedImage(t, reg)
				ref := repo + "@" + digest
				identity := b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
				// --no-ci-annotations: outside a CI job the checkout's revision
				// would be signed, which the bed token's certificate disagrees with.
				args := []string{"sign", "--insecure-registry", reg, "--no-ci-annotations", "--annotations", note}
				if tt.mode == "both-formats" {
					args = append(args, "--both-formats")
				} else {
					args = append(args, storageArgs(tt.mode)...)
				}
				var env []string
				policy := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}
				if tt.keyed {
					args = append(args, "--key", priv, "--tlog-upload=false", "--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"))
					env = []string{"COSIGN_PASSWORD=cosign-command"}
					policy = []string{"--key", pub}
				} else if tt.tlog {
					args = append(args, tlogSign...)
					env = []string{"SIGSTORE_ID_TOKEN=" + b.Token(t, "project_path=group/app&ref=main")}
				} else {
					args = append(args, sign...)
					env = []string{"SIGSTORE_ID_TOKEN=" + b.Token(t, "project_path=group/app&ref=main")}
				}
				if tt.policy != nil {
					policy = tt.policy
				}
				mustSucceed(t, hallmark(t, env, append(args, ref)...))

				verify := append([]string{"verify", "--insecure-registry", reg, "--annotations", note}, policy...)
				if tt.tlog {
					verify = append(verify, tlogTrust...)
				} else {
					verify = append(verify, trust...)
				}
				r := hallmark(t, nil, append(verify, ref)...)
				mustSucceed(t, r)
				line := printedCosignCommand(t, r.Stderr)
				t.Logf("printed: %s", line)
				if strings.Contains(line, "--experimental-oci11") != (tt.mode == "oci-1-1") {
					t.Errorf("--experimental-oci11 belongs in the line only for simple-signing referrers alone: %s", line)
				}
				if tt.tlog && strings.Contains(line, "--insecure") {
					t.Errorf("hallmark checked the tlog and the SCT, the printed command skips a check: %s", line)
				}
				for _, cosign := range []string{b.Cosign3(), b.Getenv("HALLMARK_TEST_COSIGN")} {
					if r := pasteCosign(t, cosign, line); r.Code != 0 {
						t.Errorf("the printed command failed with %s:\n%s\n%s", cosign, line, r)
					}
				}
				if tt.keyed || tt.policy != nil {
					return
				}
				wrong := strings.Replace(line, identity, b.Issuer()+"/group/other//.gitlab-ci.yml@refs/heads/main", 1)
				if wrong == line {
					t.Fatalf("the identity %s is not in the printed command: %s", identity, line)
				}
				if r := pasteCosign(t, b.Cosign3(), wrong); r.Code == 0 {
					t.Errorf("the printed command with another identity passed:\n%s\n%s", wrong, r)
				}
			})
		}
	}
}

// printedCosignCommand returns the cosign command hallmark verify printed
// on stderr.
func printedCosignCommand(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, cosignCommandPrefix) {
			continue
		}
		if i := strings.LastIndex(l, ": cosign verify "); i >= 0 {
			return l[i+2:]
		}
	}
	t.Fatalf("hallmark verify printed no cosign command:\n%s", stderr)
	return ""
}

// pasteCosign runs line as a user pasting it would, through bash, with
// its leading `cosign` replaced by the binary cosign (an empty TUF cache:
// everything comes from the flags).
func pasteCosign(t *testing.T, cosign, line string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `"$COSIGN"`+strings.TrimPrefix(line, "cosign"))
	cmd.Env = append(e2etest.CleanEnv(nil), "COSIGN="+cosign, "TUF_ROOT="+t.TempDir())
	return runCmd(t, cmd)
}
