package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestBeforeExport runs builds on the test bed's buildkitd: the image is
// pushed only after BeforeExport returns nil (the tag is absent while it
// runs), and a BeforeExport error stops the build with nothing pushed and
// is returned as it is.
func TestBeforeExport(t *testing.T) {
	addr, reg := os.Getenv("HALLMARK_TEST_BUILDKIT_UNIX"), os.Getenv("HALLMARK_TEST_REGISTRY_PLAIN")
	if addr == "" || reg == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("test bed required under CI: HALLMARK_TEST_BUILDKIT_UNIX / HALLMARK_TEST_REGISTRY_PLAIN unset")
		}
		t.Skip("test bed not up: eval \"$(hack/testbed.sh up)\"")
	}
	ctxDir := t.TempDir()
	df := filepath.Join(ctxDir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM scratch\nCOPY hello /hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "hello"), []byte(t.Name()+time.Now().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Connect(t.Context(), ConnectOptions{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	refuse := errors.New("no signing key")
	tests := []struct {
		name    string
		gate    error
		wantErr error
	}{
		{"gate passes", nil, nil},
		{"gate fails", refuse, refuse},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag, err := name.NewTag(fmt.Sprintf("%s/builder/gate-%d-%d:v1", reg, time.Now().UnixNano(), i), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			pushedEarly, called := false, false
			req := Request{ContextDir: ctxDir, Dockerfile: df, Tags: []name.Tag{tag}, Insecure: true, Progress: "quiet",
				BeforeExport: func(ctx context.Context) error {
					called = true
					_, err := remote.Head(tag, remote.WithContext(ctx))
					pushedEarly = err == nil
					return tt.gate
				}}
			res, err := b.Build(t.Context(), req)
			if !called {
				t.Fatal("BeforeExport was not called")
			}
			if pushedEarly {
				t.Error("the image was pushed before BeforeExport returned")
			}
			_, headErr := remote.Head(tag)
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
