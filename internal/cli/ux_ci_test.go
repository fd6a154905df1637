package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitHubActionsFailure: a failed command in GitHub Actions writes an
// ::error:: workflow command and a step summary section (issue 16 item
// 6); outside GitHub Actions neither.
func TestGitHubActionsFailure(t *testing.T) {
	for _, gha := range []bool{true, false} {
		t.Run(map[bool]string{true: "github-actions", false: "elsewhere"}[gha], func(t *testing.T) {
			noCI(t)
			summary := filepath.Join(t.TempDir(), "summary.md")
			t.Setenv("GITHUB_STEP_SUMMARY", summary)
			if gha {
				t.Setenv("GITHUB_ACTIONS", "true")
			}
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), []string{"hallmark", "sign", "--key", "/nonexistent/cosign.key"}, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr.String())
			}
			want := "::error title=hallmark sign failed (exit 2)::sign takes at least one image reference"
			b, _ := os.ReadFile(summary)
			switch {
			case gha && !strings.Contains(stderr.String(), want):
				t.Errorf("stderr %q lacks %q", stderr.String(), want)
			case gha && !strings.Contains(string(b), "### hallmark sign failed (exit 2)"):
				t.Errorf("step summary %q lacks the failure", b)
			case !gha && (strings.Contains(stderr.String(), "::error") || len(b) != 0):
				t.Errorf("outside GitHub Actions: stderr %q, summary %q", stderr.String(), b)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout on failure: %q", stdout.String())
			}
		})
	}
}

// TestGitHubAnnotationsCarryFulcioFields: in a GitHub Actions job the
// annotations include the workflow ref and the run attempt, which Fulcio's
// certificate records as Build Config URI and Run Invocation URI.
func TestGitHubAnnotationsCarryFulcioFields(t *testing.T) {
	noCI(t)
	for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo/app",
		"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "3", "GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/release.yml@refs/heads/main",
		"GITHUB_SHA": "fedcba9876543210fedcba9876543210fedcba98", "GITHUB_REF": "refs/heads/main"} {
		t.Setenv(k, v)
	}
	code, out, errOut := run(t, "annotations")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ann map[string]string
	if err := json.Unmarshal([]byte(out), &ann); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"com.github.actions.run.attempt":        "3",
		"com.github.actions.run.invocation.url": "https://github.com/octo/app/actions/runs/42/attempts/3",
		"com.github.actions.workflow.ref":       "octo/app/.github/workflows/release.yml@refs/heads/main",
		"com.github.actions.workflow.url":       "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
	} {
		if ann[k] != v {
			t.Errorf("%s = %q, want %q", k, ann[k], v)
		}
	}
}
