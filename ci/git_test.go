package ci_test

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
)

// gitRepo creates a repository with one commit and returns its directory
// and HEAD commit. It needs the git binary (tests only; ReadCheckout does
// not).
func gitRepo(t *testing.T) (dir, head string) {
	t.Helper()
	dir = t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "add", "Dockerfile")
	run(t, dir, "commit", "-q", "-m", "initial")
	return dir, run(t, dir, "rev-parse", "HEAD")
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestReadCheckout(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, head string) (readDir string, want ci.Checkout)
	}{{
		name: "credentials stripped from the origin URL",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "remote", "add", "origin", "https://user:pass@git.example.com/group/project.git")
			return dir, ci.Checkout{Remote: "https://git.example.com/group/project.git", Source: "https://git.example.com/group/project.git", Revision: head}
		},
	}, {
		name: "origin preferred over the first remote; subdirectory",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "remote", "add", "fork", "https://git.example.com/fork/project.git")
			run(t, dir, "remote", "add", "origin", "https://gitlab-ci-token:glcbt-x@gitlab.example.com/g/p.git")
			sub := filepath.Join(dir, "a", "b")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			return sub, ci.Checkout{Remote: "https://gitlab.example.com/g/p.git", Source: "https://gitlab.example.com/g/p.git", Revision: head}
		},
	}, {
		name: "first remote without origin; packed refs",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "remote", "add", "upstream", "git@github.com:org/repo.git")
			run(t, dir, "pack-refs", "--all")
			if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("loose ref still present after pack-refs: %v", err)
			}
			return dir, ci.Checkout{Remote: "git@github.com:org/repo.git", Source: "https://github.com/org/repo.git", Revision: head}
		},
	}, {
		name: "detached HEAD, no remote",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
			run(t, dir, "checkout", "-q", "--detach", head)
			return dir, ci.Checkout{Revision: head}
		},
	}, {
		name: "linked worktree (.git file, commondir)",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "remote", "add", "origin", "https://x-access-token:ghs_x@github.com/o/r")
			run(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
			wt := filepath.Join(t.TempDir(), "wt")
			run(t, dir, "worktree", "add", "-q", "-b", "other", wt, head)
			return wt, ci.Checkout{Remote: "https://github.com/o/r", Source: "https://github.com/o/r", Revision: head}
		},
	}, {
		name: "unborn branch",
		setup: func(t *testing.T, dir, head string) (string, ci.Checkout) {
			run(t, dir, "checkout", "-q", "--orphan", "empty")
			return dir, ci.Checkout{}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, head := gitRepo(t)
			readDir, want := tt.setup(t, dir, head)
			got, err := ci.ReadCheckout(readDir)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("ReadCheckout = %+v, want %+v", got, want)
			}
			if want.Remote != "" {
				if gitURL := run(t, readDir, "remote", "get-url", remoteName(t, readDir)); ci.StripCredentials(gitURL) != got.Remote {
					t.Errorf("git remote get-url = %q, ReadCheckout remote %q", gitURL, got.Remote)
				}
			}
		})
	}
}

// remoteName returns origin if it exists, else the first remote.
func remoteName(t *testing.T, dir string) string {
	names := strings.Fields(run(t, dir, "remote"))
	for _, n := range names {
		if n == "origin" {
			return n
		}
	}
	return names[0]
}

func TestReadCheckoutNone(t *testing.T) {
	_, err := ci.ReadCheckout(t.TempDir())
	if !errors.Is(err, ci.ErrNoCheckout) {
		t.Fatalf("err = %v, want ErrNoCheckout (is TMPDIR inside a git checkout?)", err)
	}
}

func TestResolveAnnotationsGeneric(t *testing.T) {
	dir, head := gitRepo(t)
	run(t, dir, "remote", "add", "origin", "https://user:pass@git.example.com/group/project.git")
	got, err := detect(nil).ResolveAnnotations(ci.AnnotationRequest{
		Tag: "dev", Dir: dir, Explicit: map[string]string{"org.opencontainers.image.source": "https://override"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"tag":                               "dev",
		"org.opencontainers.image.source":   "https://override",
		"org.opencontainers.image.revision": head,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// In CI the checkout is not consulted: the variables are authoritative.
	got, err = detect(gitLabVars).ResolveAnnotations(ci.AnnotationRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got["org.opencontainers.image.revision"] != gitLabVars["CI_COMMIT_SHA"] {
		t.Errorf("GitLab revision = %q, want $CI_COMMIT_SHA", got["org.opencontainers.image.revision"])
	}
}

// TestResolveAnnotationsRemoteWithoutURL: a remote that is a local path
// is no URL for org.opencontainers.image.source: it is left out, and Warn
// says so.
func TestResolveAnnotationsRemoteWithoutURL(t *testing.T) {
	dir, head := gitRepo(t)
	run(t, dir, "remote", "add", "origin", "/srv/git/app.git")
	var warnings []string
	got, err := detect(nil).ResolveAnnotations(ci.AnnotationRequest{Dir: dir, Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"org.opencontainers.image.revision": head}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "/srv/git/app.git") || !strings.Contains(warnings[0], "org.opencontainers.image.source") {
		t.Errorf("warnings = %q, want one naming the remote and the annotation", warnings)
	}
}

func TestReadCheckoutBroken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".git"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ci.ReadCheckout(dir)
	if err == nil || errors.Is(err, ci.ErrNoCheckout) {
		t.Fatalf("err = %v, want a read error", err)
	}
	if _, err := detect(nil).ResolveAnnotations(ci.AnnotationRequest{Dir: dir}); err == nil {
		t.Error("ResolveAnnotations ignored a broken checkout")
	}
}

func TestStripCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@host.example/g/p.git", "https://host.example/g/p.git"},
		{"https://TOKEN@github.com/o/r", "https://github.com/o/r"},
		{"HTTP://u:p@h:8080/x?y=1", "HTTP://h:8080/x?y=1"},
		{"https://host.example/g/p", "https://host.example/g/p"},
		{"https://host.example/path@with-at", "https://host.example/path@with-at"},
		{"https://u:p@ss@host.example/p", "https://host.example/p"},
		{"https://u:p@host.example", "https://host.example"},
		{"ssh://git@host.example:2222/g/p.git", "ssh://git@host.example:2222/g/p.git"},
		{"ssh://git:secret@host.example/g/p.git", "ssh://git@host.example/g/p.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"user:secret@host.example:org/repo.git", "user@host.example:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"../relative/repo@1", "../relative/repo@1"},
		{"file:///srv/git/repo.git", "file:///srv/git/repo.git"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ci.StripCredentials(tt.in); got != tt.want {
			t.Errorf("StripCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadCheckoutConfigSyntax(t *testing.T) {
	dir, head := gitRepo(t)
	cfg := filepath.Join(dir, ".git", "config")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	extra := "\n[Remote \"fork\"]\n\tURL = \"https://f.example/x\" ; comment\n" +
		"[remote \"origin\"]\n\t# url = https://commented.example\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n" +
		"\turl = https://tok@o.example/g/p.git # trailing\n"
	if err := os.WriteFile(cfg, append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ci.ReadCheckout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ci.Checkout{Remote: "https://o.example/g/p.git", Source: "https://o.example/g/p.git", Revision: head}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if u := run(t, dir, "remote", "get-url", "origin"); u != "https://tok@o.example/g/p.git" {
		t.Errorf("fixture not read by git as intended: %q", u)
	}
}

func TestSourceURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://host.example/g/p.git", "https://host.example/g/p.git", true},
		{"http://h:8080/x", "http://h:8080/x", true},
		{"git@gitlab.example.com:group/app.git", "https://gitlab.example.com/group/app.git", true},
		{"git@github.com:org/repo", "https://github.com/org/repo", true},
		{"host.example:group/app.git", "https://host.example/group/app.git", true},
		{"ssh://git@host.example:2222/g/p.git", "https://host.example/g/p.git", true},
		{"ssh://host.example/g/p.git", "https://host.example/g/p.git", true},
		{"git+ssh://git@host.example/g/p", "https://host.example/g/p", true},
		{"git://host.example/g/p.git", "https://host.example/g/p.git", true},
		{"ssh://git@[2001:db8::1]:22/g/p.git", "https://[2001:db8::1]/g/p.git", true},
		{"/srv/git/repo.git", "", false},
		{"../relative/repo", "", false},
		{"file:///srv/git/repo.git", "", false},
		{"https:///nohost", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ci.SourceURL(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("SourceURL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
