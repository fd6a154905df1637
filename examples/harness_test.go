package examples_test

// End-to-end helpers on internal/e2etest: the hallmark binary (built on
// first use, or $HALLMARK_BIN), the test bed's settings (skip without the
// bed, fail under CI), running hallmark.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
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
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "hallmark-examples-"); binErr == nil {
			binPath, binErr = e2etest.BuildHallmark(binDir)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// bed returns the test bed's settings, skipping the test when the bed is
// not up — or failing it under CI, where the bed must be up.
func bed(t *testing.T) e2etest.Bed {
	t.Helper()
	return e2etest.RequireBed(t)
}

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
type result = e2etest.Result

// runHallmark runs hallmark with args, in this process's environment minus
// the variables that would change its behaviour.
func runHallmark(t *testing.T, args ...string) result {
	t.Helper()
	return runHallmarkEnv(t, nil, args...)
}

// runHallmarkEnv is runHallmark with extra environment variables.
func runHallmarkEnv(t *testing.T, extra []string, args ...string) result {
	t.Helper()
	return e2etest.RunHallmark(t, hallmarkBinary(t), extra, args...)
}

// buildTestImage builds Dockerfile.test (busybox from the bed) through
// buildkitd with the given connection flags, pushes it to the bed's plain
// registry and checks that hallmark printed the pinned reference.
func buildTestImage(t *testing.T, b e2etest.Bed, connect []string) {
	t.Helper()
	dir, df := b.BuildContext(t)
	repo := testRepo(t, b)
	args := append([]string{"build", "--progress", "plain", "-f", df,
		"--insecure-registry", b.PlainRegistry(), "--tag", repo + ":example"}, connect...)
	r := runHallmark(t, append(args, dir)...)
	if r.Code != 0 {
		t.Fatalf("hallmark build with the example's flags failed:\n%s", r)
	}
	if out := strings.TrimSpace(r.Stdout); !strings.HasPrefix(out, repo+"@sha256:") || strings.Contains(out, "\n") {
		t.Fatalf("stdout = %q, want one line %s@sha256:...", r.Stdout, repo)
	}
}

// testRepo is a repository of the bed's plain registry no other test uses.
func testRepo(t *testing.T, b e2etest.Bed) string {
	return fmt.Sprintf("%s/examples/%s-%d", b.PlainRegistry(),
		strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
}
