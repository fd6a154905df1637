package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// exitFailure is the exit code of an error outside the stages.
const exitFailure = 1

// badInput is one malformed input: the command line and environment, the
// exit code, and fragments the one error line must contain.
type badInput struct {
	name string
	env  []string
	args []string
	code int
	says []string
}

// TestBadInput feeds malformed flags, environment variables, references,
// files, tokens, keys, Dockerfiles and TLS material to every command (those
// TestBuildBadInput, TestReleaseBadInput and the CLI's unit tests try are
// left out): each must exit non-zero with one error line naming the
// problem, no panic or stack trace, and nothing on stdout.
func TestBadInput(t *testing.T) {
	b := bed(t)
	dir := t.TempDir()
	reg := b.PlainRegistry()
	const password = "pw-bad-input"
	priv, pub := keyPair(t, password)
	ctxDir, df := buildContext(t, b)
	repo, digest := pushedImage(t, reg)
	ref := repo + "@" + digest
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.pem", "this is not PEM\n")
	garbageJSON := write("garbage.json", `{"mediaType": 42`)
	emptyDockerfile := write("Dockerfile.empty", "# nothing\n")
	missingCopy := write("Dockerfile.missing", "FROM scratch\nCOPY no-such-file.txt /\n")
	failingRun := write("Dockerfile.fails", "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"false\"]\n")
	_, otherCert, otherKey := testutil.ClientCertificate(t, dir, "impostor") // a CA buildkitd does not trust
	noSub := b.Token(t, "project_path=group/app&omit=sub")
	sign, trust := defaultPathSign(t, b, "bundle") // the default path: nothing insecure behind the bad input
	identity := []string{"--certificate-identity", b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main", "--certificate-oidc-issuer", b.Issuer()}
	keyed := slices.Clip(append([]string{"--insecure-registry", reg, "--key", priv}, sign...)) // appended to by many cases
	build := []string{"build", "--progress", "quiet", "--insecure-registry", reg}
	tag := uniqueRepo(t, reg) + ":bad"
	tls := b.TLSFlags()
	withTLS := func(flagValues ...string) []string { // the bed's TLS flags, some replaced
		out := append([]string(nil), tls...)
		for j := 0; j+1 < len(flagValues); j += 2 {
			for i := range out {
				if out[i] == flagValues[j] {
					out[i+1] = flagValues[j+1]
				}
			}
		}
		return out
	}
	release := slices.Clip(append([]string{"release", "--progress", "quiet", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
		"--key", priv}, sign...))
	pw := []string{"COSIGN_PASSWORD=" + password}

	tests := []badInput{
		// Commands, flags and arguments.
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, []string{"unknown command", "frobnicate"}},
		{"release with an argument", pw, append(release, "--image", repo, "--tag", "x", "stray"), exitUsage, []string{"no arguments", "stray"}},
		{"verify with two references", nil, []string{"verify", "--insecure-registry", reg, "--key", pub, ref, ref}, exitUsage, []string{"one image reference", "2 arguments"}},
		{"verify without a reference", nil, []string{"verify", "--key", pub}, exitUsage, []string{"one image reference"}},
		{"doctor with an argument", nil, []string{"doctor", "stray"}, exitUsage, []string{"no arguments", "stray"}},
		{"doctor output format", nil, []string{"doctor", "--output", "xml"}, exitUsage, []string{"--output", "xml"}},
		{"doctor timeout", nil, []string{"doctor", "--timeout", "soon"}, exitUsage, []string{"timeout", "soon"}},
		{"verify without a policy outside CI", nil, []string{"verify", "--insecure-registry", reg, ref}, exitUsage, []string{"no verification policy", "--key", "--certificate-identity"}},
		{"verify with a key and an identity", nil, append([]string{"verify", "--insecure-registry", reg, "--key", pub}, append(identity, ref)...), exitUsage, []string{"key", "exclusive"}},
		{"verify identity regexp", nil, []string{"verify", "--insecure-registry", reg, "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", b.Issuer(), ref}, exitUsage, []string{"regexp", "missing closing )"}},
		{"verify annotation without =", nil, []string{"verify", "--insecure-registry", reg, "--key", pub, "-a", "novalue", ref}, exitUsage, []string{"novalue"}},
		// Environment.
		{"BUILDKIT_HOST without a scheme", []string{"BUILDKIT_HOST=buildkitd.sock"}, append(build, "-f", df, "--tag", tag, ctxDir), exitUsage, []string{"invalid buildkitd address", "buildkitd.sock"}},
		{"HALLMARK_TLOG_UPLOAD not a boolean", append([]string{"HALLMARK_TLOG_UPLOAD=maybe"}, pw...), append(append([]string{"sign"}, keyed[:4]...), ref), exitUsage, []string{"HALLMARK_TLOG_UPLOAD", "maybe"}},
		{"HALLMARK_REGISTRY_REFERRERS_MODE unknown", append([]string{"HALLMARK_REGISTRY_REFERRERS_MODE=sideways"}, pw...), append(release, "--image", repo, "--tag", "x"), exitUsage, []string{"referrers mode", "sideways"}},
		{"HALLMARK_ANNOTATIONS malformed", append([]string{"HALLMARK_ANNOTATIONS=ok=1\nnovalue"}, pw...), append(append([]string{"sign"}, keyed...), ref), exitUsage, []string{"novalue"}},
		{"CI_REGISTRY_IMAGE invalid", append([]string{"GITLAB_CI=true", "CI_REGISTRY_IMAGE=" + reg + "/Group/App", "CI_COMMIT_SHORT_SHA=0123abcd"}, pw...), release, exitUsage, []string{"invalid image reference", "Group/App"}},
		// References.
		{"sign a reference without a registry", pw, append(append([]string{"sign"}, keyed...), "group/app@"+digest), exitUsage, []string{"name the registry"}},
		{"sign a short digest", pw, append(append([]string{"sign"}, keyed...), repo+"@sha256:abc"), exitUsage, []string{"invalid image digest", "sha256:abc"}},
		{"sign a digest the registry does not have", pw, append(append([]string{"sign"}, keyed...), repo+"@sha256:"+strings.Repeat("0", 64)), exitSign, []string{"no image", "sha256:" + strings.Repeat("0", 64)}},
		{"verify a tag that does not exist", nil, append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...), repo+":nope"), exitVerify, []string{repo + ":nope"}},
		{"verify an image without signatures", nil, append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...), ref), exitVerify, []string{"no signatures"}},
		// Files.
		{"sign with a missing key file", pw, []string{"sign", "--insecure-registry", reg, "--key", filepath.Join(dir, "nope.key"), ref}, exitUsage, []string{"nope.key"}},
		{"sign with a key file that is not a key", pw, []string{"sign", "--insecure-registry", reg, "--key", garbage, ref}, exitUsage, []string{"garbage.pem"}},
		{"sign with the public key", pw, []string{"sign", "--insecure-registry", reg, "--key", pub, ref}, exitUsage, []string{"cosign.pub"}},
		{"sign with an unset env:// key", nil, []string{"sign", "--insecure-registry", reg, "--key", "env://HALLMARK_NO_SUCH_KEY", ref}, exitUsage, []string{"HALLMARK_NO_SUCH_KEY"}},
		{"sign with a missing token file", nil, append(append([]string{"sign", "--insecure-registry", reg, "--identity-token-file", filepath.Join(dir, "nope.jwt")}, sign...), ref), exitUsage, []string{"--identity-token-file", "nope.jwt"}},
		{"sign with a service CA that is not PEM", nil, append(append([]string{"sign", "--insecure-registry", reg, "--sigstore-ca-cert", garbage, "--identity-token", noSub}, sign...), ref), exitUsage, []string{"garbage.pem"}},
		{"verify with a missing key file", nil, []string{"verify", "--insecure-registry", reg, "--key", filepath.Join(dir, "nope.pub"), ref}, exitUsage, []string{"nope.pub"}},
		{"verify with an unknown KMS", nil, []string{"verify", "--insecure-registry", reg, "--key", "nokms://key/1", ref}, exitUsage, []string{"nokms://key/1"}},
		{"verify with a missing trusted root", nil, append([]string{"verify", "--insecure-registry", reg, "--trusted-root", filepath.Join(dir, "nope.json")}, append(identity, ref)...), exitUsage, []string{"trusted root", "nope.json"}},
		{"verify with a trusted root that is not JSON", nil, append([]string{"verify", "--insecure-registry", reg, "--trusted-root", garbageJSON}, append(identity, ref)...), exitUsage, []string{"trusted root"}},
		{"verify with CA roots that are not PEM", nil, append([]string{"verify", "--insecure-registry", reg, "--ca-roots", garbage}, append(identity, ref)...), exitUsage, []string{"garbage.pem"}},
		{"verify with a TSA chain that is not PEM", nil, append(append([]string{"verify", "--insecure-registry", reg, "--timestamp-certificate-chain", garbage}, trust...), append(identity, ref)...), exitUsage, []string{"timestamp", "garbage.pem"}},
		{"build secret file missing", nil, append(build, "--addr", b.BuildkitUnix(), "-f", df, "--secret", "id=s,src="+filepath.Join(dir, "nope.secret"), "--tag", tag, ctxDir), exitUsage, []string{"secret", "nope.secret"}},
		{"build metadata file in a missing directory", nil, append(build, "--addr", b.BuildkitUnix(), "-f", df, "--metadata-file", filepath.Join(dir, "no", "dir", "md.json"), "--tag", tag, ctxDir), exitFailure, []string{"md.json"}},
		// Tokens.
		{"sign with a token without a subject", nil, append(append([]string{"sign", "--insecure-registry", reg, "--identity-token", noSub}, sign...), ref), exitUsage, []string{"no subject"}},
		// Dockerfiles.
		{"empty Dockerfile", nil, append(build, "--addr", b.BuildkitUnix(), "-f", emptyDockerfile, "--tag", tag, ctxDir), exitBuild, []string{"no instructions"}},
		{"Dockerfile COPY of a missing file", nil, append(build, "--addr", b.BuildkitUnix(), "-f", missingCopy, "--tag", tag, ctxDir), exitBuild, []string{"no-such-file.txt"}},
		{"Dockerfile RUN failing", nil, append(build, "--addr", b.BuildkitUnix(), "-f", failingRun, "--tag", tag, ctxDir), exitBuild, []string{"did not complete successfully", "exit code: 1"}},
		{"Dockerfile path is a directory", nil, append(build, "--addr", b.BuildkitUnix(), "-f", dir, "--tag", tag, ctxDir), exitUsage, []string{"Dockerfile", "not found"}},
		// TLS material.
		{"TLS flags with a unix socket", nil, append(build, "--addr", b.BuildkitUnix(), "--tlscacert", b.Getenv("HALLMARK_TEST_TLS_CA"), "-f", df, "--tag", tag, ctxDir), exitUsage, []string{"TLS flags", "tcp://"}},
		{"TLS CA that is not PEM", nil, append(append(build, withTLS("--tlscacert", garbage)...), "-f", df, "--tag", tag, ctxDir), exitUsage, []string{"garbage.pem"}},
		{"TLS key not matching the certificate", nil, append(append(build, withTLS("--tlskey", otherKey)...), "-f", df, "--tag", tag, ctxDir), exitUsage, []string{"--tlskey " + otherKey, "does not match"}},
		{"TLS client certificate from another CA", nil, append(append(build, withTLS("--tlscert", otherCert, "--tlskey", otherKey)...), "-f", df, "--tag", tag, ctxDir), exitBuild, []string{"cannot reach buildkitd", "--tlscert " + otherCert}},
		{"TLS server name not in buildkitd's certificate", nil, append(append(build, withTLS("--tlsservername", "impostor.example")...), "-f", df, "--tag", tag, ctxDir), exitBuild, []string{"cannot reach buildkitd", "impostor.example"}},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := hallmark(t, tt.env, tt.args...)
				t.Logf("exit %d: %s", r.Code, lastLine(r.Stderr))
				assertOneLineError(t, r, tt.code, tt.says...)
				if r.Stdout != "" {
					t.Errorf("stdout must be empty on failure, got %q", r.Stdout)
				}
			})
		}
	})
	t.Logf("%d malformed inputs tried here (besides TestBuildBadInput's, TestReleaseBadInput's and the CLI unit tests')", len(tests))
	assertNothingSigned(t, repo, digest)
}
