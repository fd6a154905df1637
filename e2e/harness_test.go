package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// hallmarkBin is the binary under test, built once by TestMain.
var hallmarkBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hallmark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if hallmarkBin, err = e2etest.BuildHallmark(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
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
	return testbed{e2etest.RequireBed(t)}
}

// testbed is the bed's settings, with e2e's own helpers (rootless).
type testbed struct{ e2etest.Bed }

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
	return b.BuildContext(t)
}

// result is one run of the hallmark binary.
type result = e2etest.Result

// hallmark runs the binary with args and extra environment variables.
func hallmark(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return e2etest.RunHallmark(t, hallmarkBin, env, args...)
}

// runCmd runs cmd and collects its output and exit code; failing to start
// it fails the test.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	return e2etest.RunResult(t, cmd)
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("hallmark failed:\n%s", r)
	}
}

// assertOneLineError checks a failed run: the exit code, one "error:" line
// on stderr containing every fragment, no panic or stack trace.
func assertOneLineError(t *testing.T, r result, code int, fragments ...string) {
	t.Helper()
	oneLineChecks.Add(1)
	if r.Code != code {
		t.Errorf("exit code %d, want %d\n%s", r.Code, code, r)
	}
	if strings.Contains(r.Stderr, "panic:") || strings.Contains(r.Stderr, "goroutine ") {
		t.Errorf("stderr has a panic or stack trace:\n%s", r.Stderr)
	}
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(errLines), r.Stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(errLines[0], f) {
			t.Errorf("error line %q does not mention %q", errLines[0], f)
		}
	}
}

// storageArgs are the sign and release flags that store signatures as
// mode: "bundle" (the default, cosign v3's Sigstore bundle) or a
// simple-signing layout ("legacy", "oci-1-1", "both").
func storageArgs(mode string) []string {
	if mode == "bundle" {
		return nil
	}
	return []string{"--new-bundle-format=false", "--registry-referrers-mode", mode}
}
