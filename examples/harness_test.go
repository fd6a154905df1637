package examples_test

// Minimal end-to-end helpers, after e2e/harness_test.go: the hallmark
// binary (built on first use, or $HALLMARK_BIN), the test bed's settings
// (skip without the bed, fail under CI), running hallmark.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// hallmarkBinary returns the binary under test, building it once.
func hallmarkBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HALLMARK_BIN"); bin != "" {
		return bin
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "hallmark-examples-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "hallmark")
		out, err := exec.Command("go", "build", "-o", binPath, "..").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building hallmark: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// bed returns the test bed's settings, skipping the test when the bed is
// not up — or failing it under CI, where the bed must be up.
func bed(t *testing.T) testbed {
	t.Helper()
	if os.Getenv("HALLMARK_TESTBED") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal("test bed not up (HALLMARK_TESTBED unset): run `eval \"$(hack/testbed.sh up build)\"` first")
		}
		t.Skip("test bed not up; run `eval \"$(hack/testbed.sh up build)\"` to run end-to-end tests")
	}
	return testbed{getenv: func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("test bed variable %s is not set: is the bed fully up? (hack/testbed.sh up build)", k)
		}
		return v
	}}
}

type testbed struct{ getenv func(string) string }

// requireTool skips a test that needs a program this machine lacks, except
// under CI, where the bed installs it.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found", name)
		}
		t.Skipf("%s not found", name)
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

// runHallmark runs hallmark with args, in this process's environment minus
// the variables that would change its behaviour.
func runHallmark(t *testing.T, args ...string) result {
	t.Helper()
	return runHallmarkEnv(t, nil, args...)
}

// runHallmarkEnv is runHallmark with extra environment variables.
func runHallmarkEnv(t *testing.T, extra []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hallmarkBinary(t), args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GITLAB_CI" || k == "GITHUB_ACTIONS" || strings.HasPrefix(k, "CI_") || strings.HasPrefix(k, "GITHUB_") ||
			k == "BUILDKIT_HOST" || strings.HasPrefix(k, "HALLMARK_") && !strings.HasPrefix(k, "HALLMARK_TEST") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running hallmark: %v", err)
	}
	return res
}

// buildTestImage builds Dockerfile.test (busybox from the bed) through
// buildkitd with the given connection flags, pushes it to the bed's plain
// registry and checks that hallmark printed the pinned reference.
func buildTestImage(t *testing.T, b testbed, connect []string) {
	t.Helper()
	dir := testContext(t, b)
	repo := testRepo(t, b)
	args := append([]string{"build", "--progress", "plain", "-f", filepath.Join("..", "Dockerfile.test"),
		"--insecure-registry", b.getenv("HALLMARK_TEST_REGISTRY_PLAIN"), "--tag", repo + ":example"}, connect...)
	r := runHallmark(t, append(args, dir)...)
	if r.code != 0 {
		t.Fatalf("hallmark build with the example's flags failed:\n%s", r)
	}
	if out := strings.TrimSpace(r.stdout); !strings.HasPrefix(out, repo+"@sha256:") || strings.Contains(out, "\n") {
		t.Fatalf("stdout = %q, want one line %s@sha256:...", r.stdout, repo)
	}
}

// testRepo is a repository of the bed's plain registry no other test uses.
func testRepo(t *testing.T, b testbed) string {
	return fmt.Sprintf("%s/examples/%s-%d", b.getenv("HALLMARK_TEST_REGISTRY_PLAIN"),
		strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
}

// testContext is testdata/build with the bed's static busybox, for
// Dockerfile.test.
func testContext(t *testing.T, b testbed) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "build")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "busybox" {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	copyFile(t, b.getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	return dir
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
