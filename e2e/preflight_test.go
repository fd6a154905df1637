package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// TestReleaseChecksBeforePush: what release can check before it builds, it
// checks then — an unreachable transparency log or TSA, a trusted root
// whose key for the log does not sign its checkpoint, a --dotenv or
// --metadata-file it could not write — and fails with one line naming the
// problem, with nothing pushed: no tag in the registry, no repository.
func TestReleaseChecksBeforePush(t *testing.T) {
	b := bed(t)
	const password = "preflight-pw"
	priv, _ := keyPair(t, password)
	sign, trust := defaultPathSign(t, b, "bundle")
	closed := "http://" + testutil.ClosedAddr(t)
	rekorURL, otherKey := flagValue(t, sign, "--rekor-url"), withOtherRekorKey(t, flagValue(t, trust, "--trusted-root"))
	missingDir := filepath.Join(t.TempDir(), "no-such-dir")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		fragments []string
	}{
		{"unreachable Rekor", []string{"--rekor-url", closed}, exitSign,
			[]string{"nothing pushed", "rekor", closed, "connection refused"}},
		{"Rekor checkpoint not signed by the trusted root's key", []string{"--trusted-root", otherKey}, exitSign,
			[]string{"nothing pushed", "rekor", "the checkpoint of Rekor v2 at " + rekorURL + " is not signed by the trusted root", "log ID"}},
		{"unreachable TSA", []string{"--timestamp-server-url", closed + "/api/v1/timestamp"}, exitSign,
			[]string{"nothing pushed", "tsa", closed, "connection refused"}},
		{"dotenv in a missing directory", []string{"--dotenv", filepath.Join(missingDir, "release.env")}, exitUsage,
			[]string{"--dotenv", missingDir, "does not exist"}},
		{"metadata file is a directory", []string{"--metadata-file", t.TempDir()}, exitUsage,
			[]string{"--metadata-file", "is a directory"}},
		{"upload to a log verification ignores", []string{"--insecure-ignore-tlog"}, exitUsage,
			[]string{"nothing pushed", "insecure-flags", "--insecure-ignore-tlog"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := b.ReferrersRegistry()
			ctxDir, df := buildContext(t, b)
			repo := uniqueRepo(t, reg)
			args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
				"--progress", "plain", "--image", repo, "--tag", "v1", "--key", priv}, sign...)
			args = append(append(args, trust...), tc.args...) // later flags win
			r := hallmark(t, []string{"COSIGN_PASSWORD=" + password}, args...)
			assertOneLineError(t, r, tc.code, tc.fragments...)
			if r.Stdout != "" {
				t.Errorf("stdout %q, want nothing", r.Stdout)
			}
			if strings.Contains(r.Stderr, "#1 [") { // --progress plain's first step
				t.Errorf("the build started:\n%s", r.Stderr)
			}
			assertNotPushed(t, repo+":v1")
		})
	}
}
