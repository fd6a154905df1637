package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// holdBuild runs a build on the buildkitd at addr until the test ends: a
// gateway build whose function waits. It returns once buildkitd runs it.
func holdBuild(t *testing.T, addr string) {
	t.Helper()
	c, err := bkclient.New(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Build(ctx, bkclient.SolveOpt{}, "", func(ctx context.Context, _ gateway.Client) (*gateway.Result, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}, nil)
	}()
	t.Cleanup(func() { cancel(); <-done; c.Close() })
	select {
	case <-started:
	case <-done:
		t.Fatal("the held build ended before it started")
	case <-time.After(time.Minute):
		t.Fatal("the held build did not start in a minute")
	}
}

// TestPoolBoundedLoads: a pool of two private buildkitd, the first in the
// project's order running another build. With --max-load-factor 1 (cap 1
// for 1 build on 2 nodes) the release passes it over: the platform is
// built on the idle node, the JSON's busy names the busy node with its 1
// build and the cap, and --debug says so on stderr. With the factor off
// (the default) the release builds on the busy node, the project's.
func TestPoolBoundedLoads(t *testing.T) {
	b := bed(t)
	t.Parallel()
	busy, _ := privateBuildkitd(t, b)
	idle, _ := privateBuildkitd(t, b)
	reg := b.PlainRegistry()
	dir := t.TempDir()
	e2etest.CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	df := filepath.Join(dir, "Dockerfile")
	content := "FROM scratch\nCOPY busybox /bin/busybox\n" + `RUN ["/bin/busybox", "sh", "-c", "echo bounded > /bounded"]` + "\n"
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := poolKeyFirst(t, reg, dir, df, "linux/amd64", busy, []string{busy, idle})
	holdBuild(t, busy)
	tests := []struct {
		name     string
		factor   []string // --max-load-factor
		want     string
		wantBusy string
	}{
		{"1", []string{"--max-load-factor", "1"}, idle, fmt.Sprintf("[{%s 1 1}]", busy)},
		{"default", nil, busy, "[]"},
		{"off", []string{"--max-load-factor", "off"}, busy, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := append([]string{"--addr", idle, "-f", df, "--platform", "linux/amd64", "--provenance=false"}, tt.factor...)
			args, env := keyedRelease(t, busy, reg, dir, repo, extra...)
			r := hallmark(t, append(env, "HALLMARK_DEBUG=true"), args...)
			mustSucceed(t, r)
			rel := parsePoolRelease(t, r)
			if len(rel.Nodes) != 1 || rel.Nodes[0].Node != tt.want || fmt.Sprint(rel.Nodes[0].Busy) != tt.wantBusy {
				t.Fatalf("nodes %+v, want linux/amd64 on %s, busy %s", rel.Nodes, tt.want, tt.wantBusy)
			}
			if logged := strings.Contains(r.Stderr, "buildkitd busy"); logged != (tt.want == idle) {
				t.Errorf("--debug logs the busy node: %v, want %v\n%s", logged, tt.want == idle, r.Stderr)
			}
		})
	}
}
