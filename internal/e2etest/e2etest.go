// Package e2etest holds what the end-to-end tests of e2e/ and examples/
// share: the test bed's settings (hack/testbed.sh), the hallmark binary
// under test, running it in a clean environment, and the build context for
// Dockerfile.test. Paths are relative to a directory one level below the
// repository's root, where those tests run.
package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bed is the test bed's settings, read from the HALLMARK_TEST_* variables
// hack/testbed.sh prints.
type Bed struct{ t *testing.T }

// RequireBed returns the bed, skipping the test when it is not up — or
// failing it under CI, where the bed must be up.
func RequireBed(t *testing.T) Bed {
	t.Helper()
	if os.Getenv("HALLMARK_TESTBED") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal("test bed not up (HALLMARK_TESTBED unset): run `eval \"$(hack/testbed.sh up)\"` first")
		}
		t.Skip("test bed not up; run `eval \"$(hack/testbed.sh up)\"` to run end-to-end tests")
	}
	return Bed{t: t}
}

// Getenv returns the bed variable k; an unset one fails the test.
func (b Bed) Getenv(k string) string {
	v := os.Getenv(k)
	if v == "" {
		b.t.Fatalf("test bed variable %s is not set: is the bed fully up? (hack/testbed.sh up)", k)
	}
	return v
}

// BuildkitUnix is the bed's buildkitd unix socket address.
func (b Bed) BuildkitUnix() string { return b.Getenv("HALLMARK_TEST_BUILDKIT_UNIX") }

// BuildkitTCP is the bed's mutual-TLS buildkitd address.
func (b Bed) BuildkitTCP() string { return b.Getenv("HALLMARK_TEST_BUILDKIT_TCP") }

// PlainRegistry is distribution 2.8, without the referrers API.
func (b Bed) PlainRegistry() string { return b.Getenv("HALLMARK_TEST_REGISTRY_PLAIN") }

// ReferrersRegistry is go-containerregistry's registry, with the referrers API.
func (b Bed) ReferrersRegistry() string { return b.Getenv("HALLMARK_TEST_REGISTRY_REFERRERS") }

// TLSFlags are hallmark's flags for the bed's mutual-TLS buildkitd.
func (b Bed) TLSFlags() []string {
	return []string{
		"--addr", b.BuildkitTCP(),
		"--tlscacert", b.Getenv("HALLMARK_TEST_TLS_CA"),
		"--tlscert", b.Getenv("HALLMARK_TEST_TLS_CERT"),
		"--tlskey", b.Getenv("HALLMARK_TEST_TLS_KEY"),
		"--tlsservername", b.Getenv("HALLMARK_TEST_TLS_SERVERNAME"),
	}
}

// Sigstore returns the bed's keyless signing flags (no Rekor, no CT log:
// a TSA timestamp instead, explicitly) and the matching trust flags.
func (b Bed) Sigstore() (sign, trust []string) {
	sign = []string{"--fulcio-url", b.Getenv("HALLMARK_TEST_FULCIO_URL"), "--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"),
		"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--tlog-upload=false", "--insecure-skip-verify"}
	trust = []string{"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct"}
	return sign, trust
}

// Token mints a GitLab-shaped ID token at the bed's OIDC issuer; query
// overrides claims (project_path, ref, aud, ttl, ...).
func (b Bed) Token(t *testing.T, query string) string {
	t.Helper()
	resp, err := http.Get(b.Getenv("HALLMARK_TEST_OIDC_MINT") + "?" + query)
	if err != nil {
		t.Fatalf("minting a token: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("minting a token: %s %v %s", resp.Status, err, body)
	}
	return strings.TrimSpace(string(body))
}

// Issuer is the bed's OIDC issuer URL (GitLab's $CI_SERVER_URL).
func (b Bed) Issuer() string { return b.Getenv("HALLMARK_TEST_OIDC_ISSUER") }

// BuildHallmark returns the binary under test: $HALLMARK_BIN, or one built
// from the repository into dir.
func BuildHallmark(dir string) (string, error) {
	if bin := os.Getenv("HALLMARK_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "hallmark")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hallmark: %v\n%s", err, out)
	}
	return bin, nil
}

// CleanEnv is the environment hallmark runs with: this process's, minus
// the CI and hallmark variables that would change its behaviour, plus
// extra.
func CleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GITLAB_CI" || k == "GITHUB_ACTIONS" || strings.HasPrefix(k, "CI_") || strings.HasPrefix(k, "GITHUB_") ||
			k == "BUILDKIT_HOST" || strings.HasPrefix(k, "HALLMARK_") && !strings.HasPrefix(k, "HALLMARK_TEST") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Result is one run of a program: its output and exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// RunResult is Run's outcome as a Result.
func RunResult(t *testing.T, cmd *exec.Cmd) Result {
	t.Helper()
	var r Result
	r.Stdout, r.Stderr, r.Code = Run(t, cmd)
	return r
}

// RunHallmark runs the hallmark binary bin with args, in CleanEnv(extra),
// for at most 5 minutes.
func RunHallmark(t *testing.T, bin string, extra []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = CleanEnv(extra)
	return RunResult(t, cmd)
}

// Run runs cmd and returns its output and exit code; failing to start it
// fails the test.
func Run(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", cmd.Path, err)
	}
	return out.String(), errOut.String(), code
}

// BuildContext copies testdata/build and the bed's static busybox into a
// fresh directory and returns it with the path of Dockerfile.test.
func (b Bed) BuildContext(t *testing.T) (contextDir, dockerfile string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "build")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "busybox" {
			CopyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	df, err := filepath.Abs(filepath.Join("..", "Dockerfile.test"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, df
}

// CopyFile copies a file with its permissions, creating to's directory.
func CopyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
