package ci

import (
	"strings"

	"github.com/hallmark-dev/hallmark/registry"
)

// Credential is a registry login found in the CI environment; its fmt,
// slog and JSON forms never contain the password.
type Credential = registry.Credential

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
			{Registry: reg, Username: e.get("CI_REGISTRY_USER"), Password: e.get("CI_REGISTRY_PASSWORD"), Source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD"},
			{Registry: reg, Username: "gitlab-ci-token", Password: e.get("CI_JOB_TOKEN"), Source: "CI_JOB_TOKEN"},
		}
	case GitHubActions:
		cands = []Credential{{Registry: "ghcr.io", Username: e.get("GITHUB_ACTOR"), Password: e.get("GITHUB_TOKEN"), Source: "GITHUB_ACTOR/GITHUB_TOKEN"}}
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
