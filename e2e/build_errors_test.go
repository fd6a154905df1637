package e2e

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Exit codes documented in README.md.
const (
	exitUsage = 2
	exitBuild = 3
)

// TestBuildBadInput checks that each bad input gives one error line naming
// the problem, the right exit code, and no panic.
func TestBuildBadInput(t *testing.T) {
	b := bed(t)
	ctxDir, df := buildContext(t, b)
	dir := t.TempDir()
	syntaxErr := filepath.Join(dir, "Dockerfile.syntax")
	if err := os.WriteFile(syntaxErr, []byte("FROM scratch\nCOPY busybox /bin/busybox\nFROBNICATE now\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := uniqueRepo(t, b.PlainRegistry()) + ":1"
	unix := []string{"--addr", b.BuildkitUnix()}
	tests := []struct {
		name      string
		args      []string
		code      int
		fragments []string
	}{
		{"missing context dir", append(unix, "-f", df, "--tag", tag, filepath.Join(dir, "nope")), exitUsage, []string{"build context", "nope", "not a directory"}},
		{"missing Dockerfile", append(unix, "-f", filepath.Join(dir, "Dockerfile.nope"), "--tag", tag, ctxDir), exitUsage, []string{"Dockerfile", "Dockerfile.nope", "not found"}},
		{"Dockerfile syntax error", append(unix, "-f", syntaxErr, "--tag", tag, ctxDir), exitBuild, []string{"line 3", "FROBNICATE"}},
		{"unknown target", append(unix, "-f", df, "--target", "nosuchstage", "--tag", tag, ctxDir), exitBuild, []string{"nosuchstage"}},
		{"invalid tag", append(unix, "-f", df, "--tag", b.PlainRegistry()+"/Upper/Case:1", ctxDir), exitUsage, []string{"invalid image reference", "Upper/Case"}},
		{"tag without registry", append(unix, "-f", df, "--tag", "app:1", ctxDir), exitUsage, []string{"name the registry"}},
		{"no tag", append(unix, "-f", df, ctxDir), exitUsage, []string{"--tag"}},
		{"unreachable buildkitd", []string{"--addr", "unix://" + filepath.Join(dir, "no-buildkitd.sock"), "-f", df, "--tag", tag, ctxDir}, exitBuild, []string{"cannot reach buildkitd", "no-buildkitd.sock", "BUILDKIT_HOST"}},
		{"TLS file missing", append(b.TLSFlags(), "--tlscert", filepath.Join(dir, "missing.crt"), "-f", df, "--tag", tag, ctxDir), exitUsage, []string{"--tlscert", "missing.crt"}},
		{"tcp without TLS", []string{"--addr", b.BuildkitTCP(), "-f", df, "--tag", tag, ctxDir}, exitUsage, []string{"without TLS", "--tlscacert"}},
		{"bad build arg", append(unix, "-f", df, "--build-arg", "NOEQUALS", "--tag", tag, ctxDir), exitUsage, []string{"NOEQUALS", "KEY=VALUE"}},
		{"bad platform", append(unix, "-f", df, "--platform", "linux/amd64/v3/extra", "--tag", tag, ctxDir), exitUsage, []string{"--platform"}},
		{"bad progress", append(unix, "-f", df, "--progress", "fancy", "--tag", tag, ctxDir), exitUsage, []string{"--progress", "fancy"}},
		{"two context dirs", append(unix, "-f", df, "--tag", tag, ctxDir, ctxDir), exitUsage, []string{"one CONTEXT_DIR"}},
		{"unknown flag", append(unix, "--frobnicate", ctxDir), exitUsage, []string{"frobnicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"build", "--progress", "quiet", "--insecure-registry", b.PlainRegistry()}, tt.args...)
			r := hallmark(t, nil, args...)
			assertOneLineError(t, r, tt.code, tt.fragments...)
			if r.Stdout != "" {
				t.Errorf("stdout must be empty on failure, got %q", r.Stdout)
			}
		})
	}
}

// TestBuildPushRefused pushes to a registry that demands a password: with
// the wrong CI credentials the error names the registry and the credential
// source but never the secret; with the right ones the push succeeds through
// BuildKit's session auth provider.
func TestBuildPushRefused(t *testing.T) {
	b := bed(t)
	ctxDir, df := buildContext(t, b)
	const user, good, bad = "gitlab-ci-token", "right-secret-3f9a", "wrong-secret-7c1e"
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != good {
			w.Header().Set("WWW-Authenticate", `Basic realm="hallmark-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	gitlab := func(password string) []string {
		return []string{"GITLAB_CI=true", "CI_REGISTRY=" + host, "CI_REGISTRY_USER=" + user, "CI_REGISTRY_PASSWORD=" + password,
			"DOCKER_CONFIG=" + t.TempDir()}
	}
	args := []string{"build", "--progress", "plain", "--addr", b.BuildkitUnix(), "--insecure-registry", host,
		"-f", df, "--tag", host + "/group/app:1", ctxDir}

	r := hallmark(t, gitlab(bad), args...)
	assertOneLineError(t, r, exitBuild, host, "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD")
	if strings.Contains(r.Stdout+r.Stderr, bad) {
		t.Errorf("the registry password appears in the output:\n%s", r)
	}

	r = hallmark(t, gitlab(good), args...)
	mustSucceed(t, r)
	if !strings.HasPrefix(r.Stdout, host+"/group/app@sha256:") {
		t.Errorf("stdout = %q", r.Stdout)
	}
	if strings.Contains(r.Stdout+r.Stderr, good) {
		t.Errorf("the registry password appears in the output:\n%s", r)
	}
}
