package examples_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// GitHub Actions workflow syntax (docs.github.com, "Workflow syntax").
var (
	githubTopKeys  = []string{"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
	githubJobKeys  = []string{"name", "permissions", "needs", "if", "runs-on", "snapshot", "environment", "concurrency", "outputs", "env", "defaults", "steps", "timeout-minutes", "strategy", "continue-on-error", "container", "services", "uses", "with", "secrets"}
	githubStepKeys = []string{"id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env", "continue-on-error", "timeout-minutes"}
)

type githubStep struct {
	raw map[string]any
	id  string
	run string
}

// githubJob returns a job of the workflow and its steps, checking keys.
func githubJob(t *testing.T, wf map[string]any, name string) (map[string]any, []githubStep) {
	t.Helper()
	job := mapAt(mapAt(wf, "jobs"), name)
	if job == nil {
		t.Fatalf("%s: no job %q", githubWorkflow, name)
	}
	if unknown := unknownKeys(job, githubJobKeys); len(unknown) > 0 {
		t.Errorf("job %s: unknown keys %v", name, unknown)
	}
	var steps []githubStep
	for i, s := range listAt(job, "steps") {
		m, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("job %s step %d is %T", name, i, s)
		}
		if unknown := unknownKeys(m, githubStepKeys); len(unknown) > 0 {
			t.Errorf("job %s step %d: unknown keys %v", name, i, unknown)
		}
		if (strAt(m, "run") == "") == (strAt(m, "uses") == "") {
			t.Errorf("job %s step %d: want exactly one of run and uses", name, i)
		}
		if r := strAt(m, "run"); r != "" {
			checkShellSyntax(t, "bash", r)
		}
		steps = append(steps, githubStep{raw: m, id: strAt(m, "id"), run: strAt(m, "run")})
	}
	return job, steps
}

// stepRunning returns the step whose script runs `hallmark SUB`.
func stepRunning(t *testing.T, steps []githubStep, sub string) (int, command) {
	t.Helper()
	for i, s := range steps {
		for _, c := range hallmarkCommands(t, s.run) {
			if c.subcommand() == sub {
				return i, c
			}
		}
	}
	t.Fatalf("no step runs hallmark %s", sub)
	return 0, nil
}

// stepEnv returns an environment variable of a step, falling back to the
// job's and the workflow's env.
func stepEnv(wf, job map[string]any, s githubStep, k string) string {
	for _, m := range []map[string]any{mapAt(s.raw, "env"), mapAt(job, "env"), mapAt(wf, "env")} {
		if v, ok := m[k]; ok {
			str, _ := v.(string)
			return str
		}
	}
	return ""
}

var stepOutputRef = regexp.MustCompile(`^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$`)

func TestGitHubRelease(t *testing.T) {
	wf := loadMap(t, githubWorkflow)
	if unknown := unknownKeys(wf, githubTopKeys); len(unknown) > 0 {
		t.Errorf("unknown top-level keys %v", unknown)
	}
	if mapAt(wf, "on") == nil {
		t.Error("no `on:` trigger")
	}
	job, steps := githubJob(t, wf, "release")
	perms := mapAt(job, "permissions")
	for k, want := range map[string]string{"id-token": "write", "packages": "write"} {
		if got := strAt(perms, k); got != want {
			t.Errorf("release job permissions %s: %q, want %q", k, got, want)
		}
	}
	if p, ok := wf["permissions"]; ok && len(mapAt(wf, "permissions")) != 0 {
		t.Errorf("workflow-wide permissions %v: keep them per job", p)
	}

	i, _ := stepRunning(t, steps, "release")
	release := steps[i]
	if release.id == "" {
		t.Fatal("the hallmark release step has no id to read its outputs by")
	}
	if got := stepEnv(wf, job, release, "GITHUB_TOKEN"); got != "${{ secrets.GITHUB_TOKEN }}" {
		t.Errorf("GITHUB_TOKEN = %q in the release step: hallmark needs it for ghcr.io", got)
	}
	// BUILDKIT_HOST names the container an earlier step starts.
	host := stepEnv(wf, job, release, "BUILDKIT_HOST")
	name, ok := strings.CutPrefix(host, "docker-container://")
	if !ok {
		t.Fatalf("BUILDKIT_HOST = %q, want docker-container://NAME", host)
	}
	started := false
	for _, s := range steps[:i] {
		if strings.Contains(s.run, "docker run") && strings.Contains(s.run, "--name "+name+" ") && strings.Contains(s.run, "moby/buildkit:") {
			started = true
		}
	}
	if !started {
		t.Errorf("no step before the release starts a moby/buildkit container named %s", name)
	}
	// Job outputs read the release step's outputs.
	outputs := mapAt(job, "outputs")
	if len(outputs) == 0 {
		t.Fatal("the release job has no outputs")
	}
	for k, v := range outputs {
		m := stepOutputRef.FindStringSubmatch(strAt(outputs, k))
		// Which names hallmark writes, TestReleaseOutputsOnBed checks.
		if m == nil || m[1] != release.id {
			t.Errorf("output %s = %v: want ${{ steps.%s.outputs.NAME }}", k, v, release.id)
		}
	}
}

func TestGitHubVerify(t *testing.T) {
	wf := loadMap(t, githubWorkflow)
	job, steps := githubJob(t, wf, "verify")
	if !slices.Contains(stringList(job["needs"]), "release") {
		t.Errorf("verify needs %v, want release", job["needs"])
	}
	i, v := stepRunning(t, steps, "verify")
	if got, want := flagValue(t, v, "certificate-identity"), "https://github.com/${{ github.workflow_ref }}"; got != want {
		t.Errorf("--certificate-identity %q, want %q", got, want)
	}
	if got, want := flagValue(t, v, "certificate-oidc-issuer"), "https://token.actions.githubusercontent.com"; got != want {
		t.Errorf("--certificate-oidc-issuer %q, want %q", got, want)
	}
	ref := v[len(v)-1]
	env := strings.TrimSuffix(strings.TrimPrefix(ref, "${"), "}")
	env = strings.TrimPrefix(env, "$")
	got := stepEnv(wf, job, steps[i], env)
	outputs := mapAt(mapAt(mapAt(wf, "jobs"), "release"), "outputs")
	m := regexp.MustCompile(`^\$\{\{\s*needs\.release\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$`).FindStringSubmatch(got)
	if m == nil || strAt(outputs, m[1]) == "" {
		t.Errorf("verifies %s = %q: want ${{ needs.release.outputs.NAME }} of an output the release job has (%v)", ref, got, outputs)
	}
	if got := stepEnv(wf, job, steps[i], "GITHUB_TOKEN"); got != "${{ secrets.GITHUB_TOKEN }}" {
		t.Errorf("GITHUB_TOKEN = %q in the verify step: needed to read a private ghcr.io package", got)
	}
}
