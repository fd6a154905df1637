package e2e

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
	"sync/atomic"
	"testing"
	"time"
)

// hallmarkBin is the binary under test, built once by TestMain.
var hallmarkBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("HALLMARK_BIN"); bin != "" {
		hallmarkBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hallmark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	hallmarkBin = filepath.Join(dir, "hallmark")
	cmd := exec.Command("go", "build", "-o", hallmarkBin, "..")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hallmark:", err)
		return 1
	}
	code := m.Run()
	if n := oneLineChecks.Load(); n > 0 {
		fmt.Printf("e2e: %d failing runs checked for one error line naming the problem\n", n)
	}
	return code
}

// oneLineChecks counts assertOneLineError calls: the malformed inputs and
// failure paths tried across the suite.
var oneLineChecks atomic.Int64

// bed returns the test bed's settings, skipping the test when the bed is
// not up — or failing it under CI, where the bed must be up.
func bed(t *testing.T) testbed {
	t.Helper()
	if os.Getenv("HALLMARK_TESTBED") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal("test bed not up (HALLMARK_TESTBED unset): run `eval \"$(hack/testbed.sh up)\"` first")
		}
		t.Skip("test bed not up; run `eval \"$(hack/testbed.sh up)\"` to run end-to-end tests")
	}
	return testbed{getenv: func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("test bed variable %s is not set: is the bed fully up? (hack/testbed.sh up)", k)
		}
		return v
	}}
}

type testbed struct{ getenv func(string) string }

func (b testbed) buildkitUnix() string      { return b.getenv("HALLMARK_TEST_BUILDKIT_UNIX") }
func (b testbed) buildkitTCP() string       { return b.getenv("HALLMARK_TEST_BUILDKIT_TCP") }
func (b testbed) plainRegistry() string     { return b.getenv("HALLMARK_TEST_REGISTRY_PLAIN") }
func (b testbed) referrersRegistry() string { return b.getenv("HALLMARK_TEST_REGISTRY_REFERRERS") }

// tlsFlags are the flags for the bed's mutual-TLS buildkitd endpoint.
func (b testbed) tlsFlags() []string {
	return []string{
		"--addr", b.buildkitTCP(),
		"--tlscacert", b.getenv("HALLMARK_TEST_TLS_CA"),
		"--tlscert", b.getenv("HALLMARK_TEST_TLS_CERT"),
		"--tlskey", b.getenv("HALLMARK_TEST_TLS_KEY"),
		"--tlsservername", b.getenv("HALLMARK_TEST_TLS_SERVERNAME"),
	}
}

var repoSeq atomic.Int64

// uniqueRepo returns a repository name no other test uses.
func uniqueRepo(t *testing.T, registry string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	return fmt.Sprintf("%s/e2e/%s-%d-%d", registry, name, time.Now().UnixNano()%1e6, repoSeq.Add(1))
}

// buildContext copies testdata/build and the bed's static busybox into a
// fresh directory and returns it with the path of Dockerfile.test.
func buildContext(t *testing.T, b testbed) (contextDir, dockerfile string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "build")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "busybox" {
			continue
		}
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
	}
	copyFile(t, b.getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	df, err := filepath.Abs(filepath.Join("..", "Dockerfile.test"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, df
}

func copyFile(t *testing.T, from, to string) {
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

// result is one run of the hallmark binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cleanEnv is the environment hallmark runs with: this process's, minus
// CI variables that would change its behaviour, plus extra.
func cleanEnv(extra []string) []string {
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

// hallmark runs the binary with args and extra environment variables.
func hallmark(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hallmarkBin, args...)
	cmd.Env = cleanEnv(env)
	return runCmd(t, cmd)
}

// runCmd runs cmd and collects its output and exit code; failing to start
// it fails the test.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", cmd.Path, err)
	}
	return res
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("hallmark failed:\n%s", r)
	}
}

// assertOneLineError checks a failed run: the exit code, one "error:" line
// on stderr containing every fragment, no panic or stack trace.
func assertOneLineError(t *testing.T, r result, code int, fragments ...string) {
	t.Helper()
	oneLineChecks.Add(1)
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%s", r.code, code, r)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stderr has a panic or stack trace:\n%s", r.stderr)
	}
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(errLines), r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(errLines[0], f) {
			t.Errorf("error line %q does not mention %q", errLines[0], f)
		}
	}
}

// sigstore returns the bed's keyless signing flags (no Rekor, no CT log:
// a TSA timestamp instead, explicitly) and the matching trust flags.
func (b testbed) sigstore() (sign, trust []string) {
	sign = []string{"--fulcio-url", b.getenv("HALLMARK_TEST_FULCIO_URL"), "--timestamp-server-url", b.getenv("HALLMARK_TEST_TSA_URL"),
		"--trusted-root", b.getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--tlog-upload=false", "--insecure-skip-verify"}
	trust = []string{"--trusted-root", b.getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct"}
	return sign, trust
}

// token mints a GitLab-shaped ID token at the bed's OIDC issuer; query
// overrides claims (project_path, ref, aud, ttl, ...).
func (b testbed) token(t *testing.T, query string) string {
	t.Helper()
	resp, err := http.Get(b.getenv("HALLMARK_TEST_OIDC_MINT") + "?" + query)
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

// issuer is the bed's OIDC issuer URL (GitLab's $CI_SERVER_URL).
func (b testbed) issuer() string { return b.getenv("HALLMARK_TEST_OIDC_ISSUER") }
