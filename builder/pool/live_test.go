package pool

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/hallmark-dev/hallmark/builder"
)

// privateBuildkitd starts a buildkitd of the bed's binary
// (HALLMARK_TEST_BUILDKITD) on its own state directory and socket, whose
// only builds are the test's, and returns its address; "" without the
// bed.
func privateBuildkitd(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HALLMARK_TEST_BUILDKITD")
	if bin == "" {
		return ""
	}
	dir, err := os.MkdirTemp("", "hallmark-pool-buildkitd-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	log, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfg, "--root", filepath.Join(dir, "root"), "--addr", addr,
		"--oci-worker=true", "--oci-worker-snapshotter=native", "--containerd-worker=false")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting buildkitd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		log.Close()
		mounts, _ := os.ReadFile("/proc/self/mountinfo")
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
			}
		}
		_ = os.RemoveAll(dir)
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		b, err := builder.Connect(t.Context(), builder.ConnectOptions{Addr: addr, Timeout: time.Second})
		if err == nil {
			b.Close()
			return addr
		}
		if time.Now().After(deadline) {
			logged, _ := os.ReadFile(log.Name())
			t.Fatalf("buildkitd at %s did not answer in 30s: %v\n%s", addr, err, logged)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runningBuild starts a build on addr that runs until the test ends or
// stop is called: a gateway build whose function waits.
func runningBuild(t *testing.T, addr string) (stop func()) {
	t.Helper()
	c, err := client.New(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Build(ctx, client.SolveOpt{}, "", func(ctx context.Context, _ gateway.Client) (*gateway.Result, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}, nil)
	}()
	select {
	case <-started:
	case <-done:
		t.Fatal("the build ended before it started")
	case <-time.After(30 * time.Second):
		t.Fatal("the build did not start in 30s")
	}
	stop = func() { cancel(); <-done; c.Close() }
	t.Cleanup(stop)
	return stop
}

// TestBalanceOnBuildkitd: two private buildkitd, the first in the
// project's order running a build. buildkitd's build history reports the
// build while it runs, and not after; with a factor whose cap the busy
// node reaches, the platform goes to the idle node and Placed names the
// busy one with its load; with a looser factor, or off, it stays on the
// busy node (its cache).
func TestBalanceOnBuildkitd(t *testing.T) {
	busyAddr := privateBuildkitd(t)
	if busyAddr == "" {
		t.Skip("test bed not up (HALLMARK_TEST_BUILDKITD): needs buildkitd")
	}
	idleAddr := privateBuildkitd(t)
	nodes := []Node{
		{Name: "busy", Connect: builder.ConnectOptions{Addr: busyAddr}, Platforms: []string{"linux/amd64"}},
		{Name: "idle", Connect: builder.ConnectOptions{Addr: idleAddr}, Platforms: []string{"linux/amd64"}},
	}
	var k Key
	for i := 0; Rank([]string{"busy", "idle"}, k, "linux/amd64")[0] != "busy"; i++ {
		k = Key{Repository: fmt.Sprintf("r.example/app-%d", i)}
	}

	active := func() int {
		b, err := builder.Connect(t.Context(), nodes[0].Connect)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		n, err := b.ActiveBuilds(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := active(); n != 0 {
		t.Fatalf("a fresh buildkitd runs %d builds", n)
	}
	stop := runningBuild(t, busyAddr)
	if n := active(); n != 1 {
		t.Fatalf("buildkitd running one build reports %d", n)
	}

	// busy 1, idle 0: cap ceil(c·2/2) = ceil(c).
	tests := []struct {
		factor   float64
		want     string
		wantBusy string
	}{
		{1, "idle", "[{busy 1 1}]"}, // cap 1: busy is at it
		{1.25, "busy", "[]"},        // cap 2
		{2, "busy", "[]"},           // cap 2
		{0, "busy", "[]"},           // off: hashing alone
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.factor), func(t *testing.T) {
			p, err := Discover(t.Context(), nodes, nil)
			if err != nil {
				t.Fatal(err)
			}
			p.Balance = Balance{MaxLoadFactor: tt.factor}
			var on string
			placed, err := p.Build(t.Context(), k, "linux/amd64", func(_ context.Context, b *builder.Builder) error {
				on = b.Addr()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if placed.Node != tt.want || on != placed.Addr || fmt.Sprint(placed.Busy) != tt.wantBusy {
				t.Errorf("placed on %s (%s, busy %v), want %s (busy %s)", placed.Node, on, placed.Busy, tt.want, tt.wantBusy)
			}
		})
	}
	// A cancelled build leaves the active records once buildkitd has
	// finished it, shortly after.
	stop()
	n := active()
	for deadline := time.Now().Add(10 * time.Second); n != 0 && time.Now().Before(deadline); n = active() {
		time.Sleep(50 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("10s after the build ended buildkitd reports %d running", n)
	}
}
