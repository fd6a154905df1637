package ci

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Provider identifies the CI system hallmark runs in.
type Provider string

// The providers Detect recognises.
const (
	Generic       Provider = "generic"        // no recognised CI system
	GitLab        Provider = "gitlab"         // GITLAB_CI=true
	GitHubActions Provider = "github-actions" // GITHUB_ACTIONS=true
)

// variables lists every environment variable hallmark reads. Detect copies
// exactly these into an Env.
var variables = []string{
	// Provider detection.
	"GITLAB_CI", "GITHUB_ACTIONS",

	// GitLab CI predefined variables.
	"GITLAB_USER_NAME", "CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_JOB_ID", "CI_JOB_URL",
	"CI_COMMIT_SHA", "CI_COMMIT_SHORT_SHA", "CI_COMMIT_REF_NAME", "CI_COMMIT_TAG",
	"CI_PROJECT_PATH", "CI_PROJECT_URL", "CI_CONFIG_PATH", "CI_CONFIG_REF_URI", "CI_SERVER_URL",
	"CI_REGISTRY", "CI_REGISTRY_IMAGE", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN",

	// GitHub Actions default variables (GITHUB_TOKEN only when the workflow
	// sets it, e.g. env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}).
	"GITHUB_ACTOR", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB", "GITHUB_SHA", "GITHUB_REF",
	"GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_WORKFLOW_REF", "GITHUB_TOKEN",
	"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
	"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",

	// Sigstore keyless signing, any provider.
	"SIGSTORE_ID_TOKEN",
}

// Env is a snapshot of the CI environment. The zero value is a generic
// environment with no variables set. Env holds secrets (registry passwords,
// tokens) but never prints, logs or marshals them: its fmt and slog forms
// show only the provider.
type Env struct {
	// Provider is the CI system detected.
	Provider Provider

	vars map[string]string
}

// Detect reads the CI environment through getenv, which returns "" for an
// unset variable (os.Getenv, or a map look-up in tests).
func Detect(getenv func(string) string) Env {
	vars := make(map[string]string, len(variables))
	for _, k := range variables {
		if v := getenv(k); v != "" {
			vars[k] = v
		}
	}
	p := Generic
	switch {
	case vars["GITLAB_CI"] == "true":
		p = GitLab
	case vars["GITHUB_ACTIONS"] == "true":
		p = GitHubActions
	}
	return Env{Provider: p, vars: vars}
}

// get returns the value of the variable k, or "" when unset.
func (e Env) get(k string) string { return e.vars[k] }

// GitHubOutput returns the path in $GITHUB_OUTPUT, where step outputs are
// appended, or "" when unset.
func (e Env) GitHubOutput() string { return e.get("GITHUB_OUTPUT") }

// GitHubStepSummary returns the path in $GITHUB_STEP_SUMMARY, where the job
// summary (Markdown) is appended, or "" when unset.
func (e Env) GitHubStepSummary() string { return e.get("GITHUB_STEP_SUMMARY") }

// String returns the provider's name.
func (e Env) String() string {
	if e.Provider == "" {
		return string(Generic)
	}
	return string(e.Provider)
}

// Format prints e as its String form for every verb, so no fmt verb
// (%v, %+v, %#v, %d, ...) reveals the variables it holds.
func (e Env) Format(f fmt.State, _ rune) { fmt.Fprint(f, e.String()) }

// LogValue logs only the provider.
func (e Env) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalJSON marshals only the provider.
func (e Env) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Provider string `json:"provider"`
	}{e.String()})
}
