package ci

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Credential is a registry login found in the CI environment. Its fmt,
// slog and JSON forms never contain the password.
type Credential struct {
	// Registry is the registry host the login is for (e.g. registry.gitlab.com).
	Registry string
	// Username is the login name.
	Username string
	// Password is the secret (password or token). Only read it to log in.
	Password string
	// Source names the variables the login came from, for messages, e.g.
	// "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD".
	Source string
}

// String returns "username@registry (from SOURCE)", without the password.
func (c Credential) String() string {
	return fmt.Sprintf("%s@%s (from %s)", c.Username, c.Registry, c.Source)
}

// Format prints c as its String form for every verb, so no fmt verb
// (%v, %+v, %#v, %d, ...) reveals the password.
func (c Credential) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue logs c without the password.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("registry", c.Registry),
		slog.String("username", c.Username),
		slog.String("source", c.Source),
	)
}

// MarshalJSON marshals c without the password.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Registry string `json:"registry"`
		Username string `json:"username"`
		Source   string `json:"source"`
	}{c.Registry, c.Username, c.Source})
}

// Credentials returns the registry logins the CI environment provides, in
// order of preference:
//
//   - GitLab: $CI_REGISTRY with $CI_REGISTRY_USER/$CI_REGISTRY_PASSWORD,
//     else user gitlab-ci-token with $CI_JOB_TOKEN;
//   - GitHub Actions: ghcr.io with $GITHUB_ACTOR/$GITHUB_TOKEN. GitHub does
//     not export GITHUB_TOKEN by itself; the workflow sets it
//     (env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}) and grants
//     packages: write.
//
// A login with an empty registry, user or password is left out.
func (e Env) Credentials() []Credential {
	var cands []Credential
	switch e.Provider {
	case GitLab:
		reg := e.get("CI_REGISTRY")
		cands = []Credential{
			{reg, e.get("CI_REGISTRY_USER"), e.get("CI_REGISTRY_PASSWORD"), "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD"},
			{reg, "gitlab-ci-token", e.get("CI_JOB_TOKEN"), "CI_JOB_TOKEN"},
		}
	case GitHubActions:
		cands = []Credential{{"ghcr.io", e.get("GITHUB_ACTOR"), e.get("GITHUB_TOKEN"), "GITHUB_ACTOR/GITHUB_TOKEN"}}
	}
	var out []Credential
	for _, c := range cands {
		if c.Registry != "" && c.Username != "" && c.Password != "" {
			out = append(out, c)
		}
	}
	return out
}

// DefaultImage returns the repository `hallmark release` pushes to when
// none is given: $CI_REGISTRY_IMAGE on GitLab, ghcr.io/$GITHUB_REPOSITORY
// (lower-cased, as registries require) on GitHub Actions, "" otherwise.
func (e Env) DefaultImage() string {
	switch e.Provider {
	case GitLab:
		return e.get("CI_REGISTRY_IMAGE")
	case GitHubActions:
		if r := e.get("GITHUB_REPOSITORY"); r != "" {
			return "ghcr.io/" + strings.ToLower(r)
		}
	}
	return ""
}

// DefaultTag returns the tag `hallmark release` pushes when none is given:
// $CI_COMMIT_SHORT_SHA on GitLab, the first 8 characters of $GITHUB_SHA on
// GitHub Actions, "" otherwise.
func (e Env) DefaultTag() string {
	switch e.Provider {
	case GitLab:
		return e.get("CI_COMMIT_SHORT_SHA")
	case GitHubActions:
		sha := e.get("GITHUB_SHA")
		return sha[:min(8, len(sha))]
	}
	return ""
}
