package builder

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"google.golang.org/grpc"
)

// TestBuildJobRegisteredLate runs builds on the test bed's buildkitd whose
// Solve call reaches it more than 3 s after the build's first gateway
// call (Ping), as on a loaded buildkitd: buildkitd answers "forwarding
// Ping: no such job" (moby/buildkit#5171). Build runs the request again,
// within ExportAttempts, and the image is pushed; when every Solve is
// late it fails after ExportAttempts runs, with buildkitd's message.
func TestBuildJobRegisteredLate(t *testing.T) {
	addr, reg := bedBuildkit(t)
	ctxDir := t.TempDir()
	tests := []struct {
		name      string
		late      int64 // Solve calls held back, from the first
		attempts  int
		wantErr   bool
		wantSolve int64
	}{
		{"first solve late: built again", 1, 2, false, 2},
		{"every solve late: bounded", 1 << 20, 2, true, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var solves atomic.Int64
			hold := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if strings.HasSuffix(method, ".Control/Solve") && solves.Add(1) <= tt.late {
					select {
					case <-time.After(4 * time.Second): // buildkitd waits 3 s for the job
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}
			c, err := client.New(t.Context(), addr, client.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(hold)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			b := &Builder{c: c, addr: addr}
			if err := os.WriteFile(filepath.Join(ctxDir, fmt.Sprintf("hello-%d", i)), []byte(t.Name()+time.Now().String()), 0o644); err != nil {
				t.Fatal(err)
			}
			df := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(df, fmt.Appendf(nil, "FROM scratch\nCOPY hello-%d /hello\n", i), 0o644); err != nil {
				t.Fatal(err)
			}
			tag, err := name.NewTag(fmt.Sprintf("%s/builder/late-%d-%d:v1", reg, time.Now().UnixNano(), i), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			res, err := b.Build(t.Context(), Request{ContextDir: ctxDir, Dockerfile: df, Tags: []name.Tag{tag}, Insecure: true,
				Progress: "quiet", ExportAttempts: tt.attempts, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if n := solves.Load(); n != tt.wantSolve {
				t.Errorf("%d solves, want %d (error: %v)", n, tt.wantSolve, err)
			}
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "no such job") {
					t.Fatalf("Build error %v, want buildkitd's 'no such job'", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v\nlog: %s", err, log.String())
			}
			if !strings.Contains(log.String(), "building again") {
				t.Errorf("no warning that the build ran again:\n%s", log.String())
			}
			desc, err := remote.Head(tag)
			if err != nil {
				t.Fatalf("not pushed: %v", err)
			}
			if desc.Digest != res.Digest {
				t.Errorf("pushed %s, Build reported %s", desc.Digest, res.Digest)
			}
		})
	}
}
