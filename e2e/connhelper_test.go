package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestConnectionHelpers builds through kube-pod:// and docker-container://
// addresses, BuildKit's connection helpers for a buildkitd in a Kubernetes
// pod or a container: they run `kubectl exec ... buildctl dial-stdio` or
// `docker exec ... buildctl dial-stdio` and speak to buildkitd over its
// stdio. Neither Kubernetes nor a Docker engine runs here, so kubectl and
// docker are stood in by scripts that record their arguments and run the
// command they were given — the bed's buildctl dial-stdio — against the
// bed's buildkitd; everything from hallmark's side is the real path. When
// the tool fails, the error is one line with the tool's own last words and
// what to check, without the helper's note about Docker versions.
func TestConnectionHelpers(t *testing.T) {
	b := bed(t)
	t.Parallel()
	ctxDir, df := buildContext(t, b)
	tests := []struct {
		name, addr, tool string
		wantArgs         string // as the tool got them
	}{
		{"kube-pod", "kube-pod://buildkitd-0?namespace=ci&container=buildkitd", "kubectl",
			"--context= --namespace=ci exec --container=buildkitd -i buildkitd-0 -- buildctl dial-stdio"},
		{"docker-container", "docker-container://buildkitd-sidecar", "docker",
			"exec -i buildkitd-sidecar buildctl dial-stdio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, log := t.TempDir(), filepath.Join(t.TempDir(), "args")
			script := "#!/bin/sh\n" +
				"echo \"$*\" >> \"$FAKE_TOOL_LOG\"\n" +
				"while [ $# -gt 0 ] && [ \"$1\" != buildctl ]; do shift; done\n" +
				"shift\n" +
				"exec \"$FAKE_TOOL_BUILDCTL\" --addr \"$FAKE_TOOL_BUILDKITD\" \"$@\"\n"
			if err := os.WriteFile(filepath.Join(bin, tt.tool), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "FAKE_TOOL_LOG=" + log,
				"FAKE_TOOL_BUILDCTL=" + b.Getenv("HALLMARK_TEST_BUILDCTL"), "FAKE_TOOL_BUILDKITD=" + b.BuildkitUnix()}
			tag := uniqueRepo(t, b.PlainRegistry()) + ":v1"
			r := hallmark(t, env, buildArgs(b, df, ctxDir, "--addr", tt.addr, "--tag", tag)...)
			mustSucceed(t, r)
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("%s was never run: %v", tt.tool, err)
			}
			if first, _, _ := strings.Cut(string(got), "\n"); first != tt.wantArgs {
				t.Errorf("%s ran with %q, want %q", tt.tool, first, tt.wantArgs)
			}

			// The tool fails as kubectl does without a cluster (after a
			// moment, as a real one: failing at once races gRPC's first
			// write, which then reports only a broken pipe).
			failing := "#!/bin/sh\nsleep 0.3\necho 'E1126 memcache.go:265] couldn'\\''t get current server API group list' >&2\n" +
				"echo 'The connection to the server localhost:8080 was refused - did you specify the right host or port?' >&2\nexit 1\n"
			if err := os.WriteFile(filepath.Join(bin, tt.tool), []byte(failing), 0o755); err != nil {
				t.Fatal(err)
			}
			fr := hallmark(t, env, buildArgs(b, df, ctxDir, "--addr", tt.addr, "--tag", tag)...)
			assertOneLineError(t, fr, 3, "cannot reach buildkitd at "+tt.addr, "`"+tt.tool+" ",
				"exited with exit status 1: The connection to the server localhost:8080 was refused", "check that "+tt.tool)
			if strings.Contains(fr.Stderr, "Docker 18.09") || strings.Contains(fr.Stderr, "memcache") {
				t.Errorf("the error keeps the helper's noise:\n%s", fr.Stderr)
			}
			ref, err := name.NewTag(tag, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			pushed, err := remoteHead(ref)
			if err != nil {
				t.Fatalf("nothing pushed to %s: %v", tag, err)
			}
			if want := ref.Context().Digest(pushed).String(); strings.TrimSpace(r.Stdout) != want {
				t.Errorf("printed %q, the registry has %s", strings.TrimSpace(r.Stdout), want)
			}
		})
	}
}
