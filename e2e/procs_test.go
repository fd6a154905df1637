package e2e

// Helpers for tests that start their own processes (a private buildkitd or
// registry to kill, hallmark to interrupt) and inspect what a run left in a
// registry. Everything is on 127.0.0.1, in the test's own directories, and
// stopped by PID; the bed's shared services are never touched.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// daemon is a process a test started; the test's cleanup kills it by PID.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startDaemon starts name with args, its output in a log file, and kills
// it at the end of the test unless it was stopped before.
func startDaemon(t *testing.T, name string, args ...string) *daemon {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	d := &daemon{name: filepath.Base(name), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait() //nolint:errcheck // killed on purpose
		f.Close()
		close(d.done)
	}()
	t.Cleanup(func() { d.kill() })
	return d
}

// kill sends SIGKILL to the daemon (by its PID) and waits for it.
func (d *daemon) kill() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// privateBuildkitd starts a buildkitd of the bed's binary with its own
// root, socket and (native) snapshotter, and returns its address.
func privateBuildkitd(t *testing.T, b testbed) (string, *daemon) {
	t.Helper()
	bin := b.Getenv("HALLMARK_TEST_BUILDKITD")
	dir, err := os.MkdirTemp("", "hallmark-e2e-buildkitd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeMounted(t, dir) })
	cfg := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("runc: %v", err)
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	d := startDaemon(t, bin, "--config", cfg, "--root", filepath.Join(dir, "root"), "--addr", addr,
		"--oci-worker=true", "--oci-worker-binary", runc, "--oci-worker-snapshotter=native", "--containerd-worker=false")
	buildctl := b.Getenv("HALLMARK_TEST_BUILDCTL")
	waitFor(t, 30*time.Second, "the private buildkitd", func() bool {
		return exec.Command(buildctl, "--addr", addr, "debug", "workers").Run() == nil
	})
	return addr, d
}

// removeMounted unmounts what a killed buildkitd left mounted under dir,
// then removes dir.
func removeMounted(t *testing.T, dir string) {
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("removing %s: %v", dir, err)
	}
}

// privateRegistry is a distribution registry (the bed's kind, without the
// referrers API) on its own port and storage; restartable on both.
type privateRegistry struct {
	addr, dir string
	d         *daemon
}

func startPrivateRegistry(t *testing.T) *privateRegistry {
	t.Helper()
	r := &privateRegistry{addr: testutil.ClosedAddr(t), dir: t.TempDir()}
	r.start(t)
	return r
}

func (r *privateRegistry) start(t *testing.T) {
	t.Helper()
	cfg := filepath.Join(r.dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(r.dir, "data"), r.addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r.d = startDaemon(t, "docker-registry", "serve", cfg)
	waitFor(t, 20*time.Second, "the private registry", func() bool {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// processesWith returns the PIDs of processes whose command line contains s.
func processesWith(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killProcessesWith kills (by PID) the processes a test's build started
// whose command line contains its unique marker s.
func killProcessesWith(s string) {
	for _, pid := range processesWith(s) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// sleepContext is a build context whose Dockerfile's RUN step prints a
// marker and sleeps long: the marker (unique per call) finds the process.
func sleepContext(t *testing.T, b testbed) (dir, marker string) {
	t.Helper()
	dir = t.TempDir()
	e2etest.CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	secs := 600000 + time.Now().UnixNano()%300000 + repoSeq.Add(1)
	marker = fmt.Sprintf("sleep %d", secs)
	df := fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox %s\"]\n", marker)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killProcessesWith(marker) })
	return dir, marker
}

// running is a hallmark process started in the background.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	started        time.Time
	res            result
}

// startHallmark starts the binary without waiting for it.
func startHallmark(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	r := &running{done: make(chan struct{})}
	r.cmd = exec.Command(hallmarkBin, args...)
	r.cmd.Env = e2etest.CleanEnv(env)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting hallmark: %v", err)
	}
	go func() {
		err := r.cmd.Wait()
		r.res = result{Stdout: r.stdout.String(), Stderr: r.stderr.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.res.Code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.res.Code = 128 + int(ws.Signal())
			}
		} else if err != nil {
			r.res.Code = -1
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// stderrSoFar is what the process wrote on stderr so far.
func (r *running) stderrSoFar() string { return r.stderr.String() }

// lockedBuffer is a bytes.Buffer a test may read while the process
// writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// exited reports whether the process has ended.
func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process and returns its result.
func (r *running) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case <-r.done:
		return r.res
	case <-time.After(timeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("hallmark still running after %v; killed:\n%s", timeout, r.res)
		return r.res
	}
}

// plainOptions reach a bed registry over plain HTTP, with no retries to
// speak of: read-backs must see the registry as it is.
func plainOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithRetryBackoff(remote.Backoff{Steps: 1})}
}

// signatureTags lists the repository's tags that hold signatures or a
// referrers fallback index ("sha256-<hex>.sig", "sha256-<hex>").
func signatureTags(t *testing.T, repo string) []string {
	t.Helper()
	var out []string
	for _, tag := range allTags(t, repo) {
		if strings.HasPrefix(tag, "sha256-") {
			out = append(out, tag)
		}
	}
	return out
}

// referrerCount counts the referrers the registry's API lists for digest
// (0 on a registry without the API).
func referrerCount(t *testing.T, digest string) int {
	t.Helper()
	d, err := name.NewDigest(digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d, append(plainOptions(t.Context()), remote.WithReferrersTagFallback(false))...)
	if err != nil {
		return 0
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(im.Manifests)
}

// assertNothingSigned fails unless the repository holds no signature of
// any digest: no signature or fallback tag, and (when given a digest) no
// referrer.
func assertNothingSigned(t *testing.T, repo string, digests ...string) {
	t.Helper()
	if tags := signatureTags(t, repo); len(tags) != 0 {
		t.Errorf("%s holds signature tags %v, want none", repo, tags)
	}
	for _, d := range digests {
		if n := referrerCount(t, repo+"@"+d); n != 0 {
			t.Errorf("%s@%s has %d referrers, want none", repo, d, n)
		}
	}
}

// assertNotPushed fails the test if the registry has the tag.
func assertNotPushed(t *testing.T, tag string) {
	t.Helper()
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if desc, err := remote.Head(ref, plainOptions(t.Context())...); err == nil {
		t.Errorf("a failed release pushed %s (%s)", ref, desc.Digest)
	}
}

// pushedImage pushes a small random image to a new repository on reg and
// returns the repository and the image's digest.
func pushedImage(t *testing.T, reg string) (repo, digest string) {
	t.Helper()
	repo = pushedRepo(t, reg)
	ref, err := name.ParseReference(repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, plainOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	return repo, desc.Digest.String()
}

// remoteHead returns the digest ref points at, read without retries.
func remoteHead(ref name.Reference) (string, error) {
	desc, err := remote.Head(ref, plainOptions(context.Background())...)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}
