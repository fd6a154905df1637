package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// migratingLines are the hallmark lines of docs/migrating.md's sh blocks,
// in order.
func migratingLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "migrating.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	inSh := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```"):
			inSh = !inSh && l == "```sh"
		case inSh && strings.HasPrefix(l, "hallmark "):
			lines = append(lines, l)
		}
	}
	if len(lines) < 4 {
		t.Fatalf("docs/migrating.md has %d hallmark lines, want the release, sign, verify and build lines", len(lines))
	}
	return lines
}

// TestMigratingLines runs docs/migrating.md's hallmark lines as printed,
// with sh, in a keyless GitLab job on the bed (issue 16 items 2 and 10):
// release writes the dotenv, whose IMAGE_DIGEST makes the tutorial's
// `hallmark sign "$IMAGE_DIGEST"` work; the outputs match docs/schema.
// The bed runs amd64 and 386 binaries only: linux/arm64 becomes
// linux/386.
func TestMigratingLines(t *testing.T) {
	b := bed(t)
	reg := b.ReferrersRegistry()
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	ctxDir, df := buildContext(t, b)
	e2etest.CopyFile(t, df, filepath.Join(ctxDir, "Dockerfile"))
	sign, _ := b.Sigstore()
	for k, v := range map[string]string{
		"CI_PROJECT_DIR":                ctxDir,
		"IMAGE_TAG":                     env["CI_REGISTRY_IMAGE"] + ":" + env["CI_COMMIT_SHORT_SHA"],
		"BUILDKIT_HOST":                 b.BuildkitUnix(),
		"HALLMARK_INSECURE_REGISTRY":    reg,
		"HALLMARK_PROGRESS":             "plain",
		"HALLMARK_FULCIO_URL":           sign[1],
		"HALLMARK_TIMESTAMP_SERVER_URL": sign[3],
		"HALLMARK_TRUSTED_ROOT":         sign[5],
		"HALLMARK_TLOG_UPLOAD":          "false",
		"HALLMARK_INSECURE_SKIP_VERIFY": "true",
		"HALLMARK_INSECURE_IGNORE_TLOG": "true",
		"HALLMARK_INSECURE_IGNORE_SCT":  "true",
		"PATH":                          filepath.Dir(hallmarkBin) + ":/usr/bin:/bin",
	} {
		env[k] = v
	}
	for _, line := range migratingLines(t) {
		cmdName := strings.Fields(line)[1]
		t.Run(cmdName, func(t *testing.T) {
			script := "set -a; if [ -f release.env ]; then . ./release.env; fi; set +a; " +
				strings.ReplaceAll(line, "linux/arm64", "linux/386")
			cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
			cmd.Dir, cmd.Env = ctxDir, e2etest.CleanEnv(envList(env))
			r := runCmd(t, cmd)
			t.Logf("$ %s\nexit %d\nstdout: %s", line, r.Code, r.Stdout)
			if r.Code != 0 {
				t.Fatalf("%s\n%s", line, r)
			}
			switch cmdName {
			case "release":
				e2etest.CheckSchema(t, "release.schema.json", []byte(r.Stdout))
				dotenv, err := os.ReadFile(filepath.Join(ctxDir, "release.env"))
				if err != nil || !strings.Contains(string(dotenv), "IMAGE_DIGEST="+env["CI_REGISTRY_IMAGE"]+"@sha256:") {
					t.Fatalf("release.env %q (%v): want IMAGE_DIGEST=REPO@sha256:...", dotenv, err)
				}
			case "sign":
				if !strings.HasPrefix(strings.TrimSpace(r.Stdout), env["CI_REGISTRY_IMAGE"]+"@sha256:") {
					t.Errorf("sign printed %q, want the pinned image", r.Stdout)
				}
			case "verify":
				e2etest.CheckSchema(t, "verify.schema.json", []byte(r.Stdout))
			}
		})
	}
}

// TestValidationBeforeWork: bad build input is refused before the build
// with exit 2 and one line; --progress tty without a terminal falls back
// to plain progress (issue 16 item 4); --max-load-factor on one buildkitd
// is a warning, the build goes on.
func TestValidationBeforeWork(t *testing.T) {
	b := bed(t)
	reg := b.PlainRegistry()
	for _, tc := range []struct {
		name       string
		dockerign  string
		args       []string
		code       int
		fragments  []string
		wantStderr string
	}{
		{"index annotation on one platform", "", []string{"--annotation", "index:a=b"}, exitUsage, []string{"index:a=b", "--platform"}, ""},
		{"malformed dockerignore", "ignored.txt\n[\n", nil, exitUsage, []string{".dockerignore", "syntax error in pattern"}, ""},
		{"tty without a terminal", "", []string{"--progress", "tty"}, 0, nil, "hallmark: warning: --progress tty: stderr is not a terminal; showing plain progress"},
		{"max load factor on one buildkitd", "", []string{"--max-load-factor", "1.25"}, 0, nil, "hallmark: warning: --max-load-factor 1.25 has no effect: build runs on one buildkitd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			if tc.dockerign != "" {
				if err := os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte(tc.dockerign), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"build", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "-f", df,
				"-t", uniqueRepo(t, reg) + ":v1", "--progress", "plain"}, tc.args...)
			r := hallmark(t, nil, append(args, ctxDir)...)
			if tc.code != 0 {
				assertOneLineError(t, r, tc.code, tc.fragments...)
				if strings.Contains(r.Stderr, "#1 ") {
					t.Errorf("the build started:\n%s", r.Stderr)
				}
				return
			}
			mustSucceed(t, r)
			if !strings.Contains(r.Stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, r.Stderr)
			}
		})
	}
}

// TestQuietHidesLibraryLogs: a local cache directory makes containerd's
// content store log "failed check for fsverity support" on filesystems
// without fs-verity; --progress quiet hides it, and otherwise it is in
// hallmark's log style (issue 16 item 5).
func TestQuietHidesLibraryLogs(t *testing.T) {
	b := bed(t)
	reg := b.PlainRegistry()
	for _, progress := range []string{"quiet", "plain"} {
		t.Run(progress, func(t *testing.T) {
			ctxDir, df := buildContext(t, b)
			r := hallmark(t, nil, "build", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "-f", df,
				"-t", uniqueRepo(t, reg)+":v1", "--progress", progress, "--cache-to", "type=local,dest="+t.TempDir(), ctxDir)
			mustSucceed(t, r)
			for _, l := range strings.Split(r.Stderr, "\n") {
				if !strings.Contains(l, "fsverity") {
					continue
				}
				if progress == "quiet" {
					t.Errorf("--progress quiet shows %q", l)
				} else if !strings.HasPrefix(l, "hallmark: warning: ") {
					t.Errorf("library log in another style: %q", l)
				}
			}
			if progress == "quiet" && strings.TrimSpace(r.Stderr) != "" {
				t.Errorf("--progress quiet printed on stderr:\n%s", r.Stderr)
			}
		})
	}
}
