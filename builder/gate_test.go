package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestBeforeExport runs builds on the test bed's buildkitd: the image is
// pushed only after BeforeExport returns nil (the tag is absent while it
// runs), a BeforeExport error stops the build with nothing pushed and is
// returned as it is, and BeforeExport runs only after the build's steps
// have run: a failing RUN step fails the build without calling it (the
// release's wait for its signer overlaps the whole build, not just the
// Dockerfile's parsing).
func TestBeforeExport(t *testing.T) {
	addr, reg := bedBuildkit(t)
	busybox, err := os.ReadFile(cmp.Or(os.Getenv("HALLMARK_TEST_BUSYBOX"), "/bin/busybox"))
	if err != nil {
		t.Fatalf("a static busybox is needed for RUN steps: %v", err)
	}
	ctxDir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello /hello\n",
		"Dockerfile.fails": "FROM scratch\nCOPY busybox /bin/busybox\nCOPY hello /hello\n" +
			`RUN ["/bin/busybox", "sh", "-c", "echo step-that-fails; exit 3"]` + "\n",
		"hello":   t.Name() + time.Now().String(),
		"busybox": string(busybox),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(ctxDir, f), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Connect(t.Context(), ConnectOptions{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	refuse := errors.New("no signing key")
	tests := []struct {
		name       string
		dockerfile string
		gate       error
		wantCalled bool
		wantErr    error
		wantMsg    string // in the error, when wantErr is nil
	}{
		{"gate passes", "Dockerfile", nil, true, nil, ""},
		{"gate fails", "Dockerfile", refuse, true, refuse, ""},
		{"build fails before the gate", "Dockerfile.fails", nil, false, nil, "exit code: 3"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag, err := name.NewTag(fmt.Sprintf("%s/builder/gate-%d-%d:v1", reg, time.Now().UnixNano(), i), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			pushedEarly, called := false, false
			req := Request{ContextDir: ctxDir, Dockerfile: filepath.Join(ctxDir, tt.dockerfile), Tags: []name.Tag{tag}, Insecure: true, Progress: "quiet",
				BeforeExport: func(ctx context.Context) error {
					called = true
					_, err := remote.Head(tag, remote.WithContext(ctx))
					pushedEarly = err == nil
					return tt.gate
				}}
			res, err := b.Build(t.Context(), req)
			if called != tt.wantCalled {
				t.Fatalf("BeforeExport called: %v, want %v (build error: %v)", called, tt.wantCalled, err)
			}
			if pushedEarly {
				t.Error("the image was pushed before BeforeExport returned")
			}
			_, headErr := remote.Head(tag)
			if tt.wantMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Build error %v, want one with %q", err, tt.wantMsg)
				}
				if headErr == nil {
					t.Error("a failed build pushed the image")
				}
				return
			}
			if tt.wantErr != nil {
				if err != tt.wantErr {
					t.Errorf("Build error %v, want BeforeExport's error as it is", err)
				}
				if headErr == nil {
					t.Error("a build whose BeforeExport failed pushed the image")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(tag)
			if err != nil {
				t.Fatalf("not pushed after BeforeExport passed: %v", err)
			}
			if desc.Digest != res.Digest {
				t.Errorf("pushed %s, Build reported %s", desc.Digest, res.Digest)
			}
		})
	}
}

// bedBuildkit returns the test bed's buildkitd (unix socket) and plain
// registry; it skips the test without the bed, and fails it under CI.
func bedBuildkit(t *testing.T) (addr, reg string) {
	t.Helper()
	addr, reg = os.Getenv("HALLMARK_TEST_BUILDKIT_UNIX"), os.Getenv("HALLMARK_TEST_REGISTRY_PLAIN")
	if addr == "" || reg == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("test bed required under CI: HALLMARK_TEST_BUILDKIT_UNIX / HALLMARK_TEST_REGISTRY_PLAIN unset")
		}
		t.Skip("test bed not up: eval \"$(hack/testbed.sh up)\"")
	}
	return addr, reg
}
