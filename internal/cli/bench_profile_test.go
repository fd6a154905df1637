//go:build bench

package cli

// TestProfileRelease runs `hallmark release` in this process against the
// test bed, over and over, so that go test's profiles show where a release
// spends its CPU and memory (hack/bench measures it as a separate process):
//
//	eval "$(hack/testbed.sh env)"
//	go test -tags bench -run TestProfileRelease -count=1 -cpuprofile cpu.out -memprofile mem.out ./internal/cli
//	go tool pprof -top cpu.out
//
// HALLMARK_PROFILE_RUNS sets the number of releases (default 10),
// HALLMARK_PROFILE_KEYED=1 signs with an encrypted key instead of keyless,
// HALLMARK_PROFILE_MODE the storage mode (default legacy).

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

func TestProfileRelease(t *testing.T) {
	runs := profileRuns(t)
	mode := cmp.Or(os.Getenv("HALLMARK_PROFILE_MODE"), "legacy")
	keyed := os.Getenv("HALLMARK_PROFILE_KEYED") == "1"
	reg, issuer := os.Getenv("HALLMARK_TEST_REGISTRY_PLAIN"), os.Getenv("HALLMARK_TEST_OIDC_ISSUER")
	ctxDir := profileContext(t)
	for k, v := range map[string]string{
		"GITLAB_CI": "true", "CI": "true", "CI_SERVER_URL": issuer, "CI_PROJECT_PATH": "group/app",
		"CI_PROJECT_URL": issuer + "/group/app", "CI_REGISTRY": reg, "CI_COMMIT_SHA": strings.Repeat("0123456789", 4),
		"CI_COMMIT_SHORT_SHA": "01234567", "CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_ID": "1", "CI_JOB_ID": "2",
	} {
		t.Setenv(k, v)
	}
	args := []string{"release", "--addr", os.Getenv("HALLMARK_TEST_BUILDKIT_UNIX"), "--insecure-registry", reg,
		"--context", ctxDir, "-f", filepath.Join(ctxDir, "Dockerfile.test"), "--progress", "quiet",
		"--image", fmt.Sprintf("%s/profile/app-%d", reg, time.Now().UnixNano()), "--registry-referrers-mode", mode,
		"--tlog-upload=false", "--insecure-ignore-tlog"}
	if keyed {
		kp := signertest.Keys(t, "profile")
		t.Setenv("COSIGN_PASSWORD", string(kp.Password))
		args = append(args, "--key", kp.Private)
	} else {
		args = append(args, "--fulcio-url", os.Getenv("HALLMARK_TEST_FULCIO_URL"), "--timestamp-server-url", os.Getenv("HALLMARK_TEST_TSA_URL"),
			"--trusted-root", os.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-skip-verify", "--insecure-ignore-sct")
	}
	for i := range runs {
		if !keyed {
			t.Setenv("SIGSTORE_ID_TOKEN", mintToken(t))
		}
		start := time.Now()
		code, _, errOut := run(t, append(args, "--tag", fmt.Sprintf("run-%d", i), "--label", fmt.Sprintf("run=%d-%d", i, start.UnixNano()))...)
		if code != 0 {
			t.Fatalf("release: exit %d\n%s", code, errOut)
		}
		t.Logf("release %d: %s", i, time.Since(start).Round(time.Millisecond))
	}
}

// profileRuns skips without the test bed and returns how many runs
// HALLMARK_PROFILE_RUNS asks for (default 10).
func profileRuns(t *testing.T) int {
	t.Helper()
	if os.Getenv("HALLMARK_TESTBED") == "" {
		t.Skip("test bed not up: eval \"$(hack/testbed.sh up)\"")
	}
	runs, _ := strconv.Atoi(os.Getenv("HALLMARK_PROFILE_RUNS"))
	if runs <= 0 {
		runs = 10
	}
	return runs
}

func profileContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for from, to := range map[string]string{
		"../../testdata/build/hello.txt": "hello.txt", "../../testdata/build/.dockerignore": ".dockerignore",
		"../../Dockerfile.test": "Dockerfile.test", os.Getenv("HALLMARK_TEST_BUSYBOX"): "busybox",
	} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mintToken(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(os.Getenv("HALLMARK_TEST_OIDC_MINT") + "?project_path=group/app&ref=main")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("minting a token: %s %v", resp.Status, err)
	}
	return strings.TrimSpace(string(b))
}

// TestProfileSignMany runs `hallmark sign` of HALLMARK_PROFILE_DIGESTS
// digests (default 20) in this process, keyless, over and over, each time
// on fresh images, so that the profiles show how signing many digests
// spends its time:
//
//	go test -tags bench -run TestProfileSignMany -count=1 -cpuprofile cpu.out -trace trace.out ./internal/cli
func TestProfileSignMany(t *testing.T) {
	runs := profileRuns(t)
	n, _ := strconv.Atoi(os.Getenv("HALLMARK_PROFILE_DIGESTS"))
	if n <= 0 {
		n = 20
	}
	mode := cmp.Or(os.Getenv("HALLMARK_PROFILE_MODE"), "legacy")
	reg := os.Getenv("HALLMARK_TEST_REGISTRY_PLAIN")
	args := []string{"sign", "--insecure-registry", reg, "--registry-referrers-mode", mode, "--no-ci-annotations",
		"--tlog-upload=false", "--fulcio-url", os.Getenv("HALLMARK_TEST_FULCIO_URL"),
		"--timestamp-server-url", os.Getenv("HALLMARK_TEST_TSA_URL"), "--trusted-root", os.Getenv("HALLMARK_TEST_TRUSTED_ROOT"),
		"--insecure-skip-verify"}
	if d := os.Getenv("HALLMARK_PROFILE_ARGS"); d != "" {
		args = append(args, strings.Fields(d)...)
	}
	var total time.Duration
	for i := range runs {
		digests := pushRandom(t, fmt.Sprintf("%s/profile/many-%d", reg, time.Now().UnixNano()), n)
		t.Setenv("SIGSTORE_ID_TOKEN", mintToken(t))
		start := time.Now()
		code, _, errOut := run(t, append(args, digests...)...)
		if code != 0 {
			t.Fatalf("sign: exit %d\n%s", code, errOut)
		}
		d := time.Since(start)
		total += d
		t.Logf("sign %d digests, run %d: %s", n, i, d.Round(time.Millisecond))
	}
	t.Logf("mean: %s", (total / time.Duration(runs)).Round(time.Millisecond))
}

// pushRandom pushes n small random images to repo and returns their
// digest references.
func pushRandom(t *testing.T, repo string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		tag, err := name.NewTag(fmt.Sprintf("%s:img-%d", repo, i), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testutil.PushRandom(t, tag).String())
	}
	return out
}
