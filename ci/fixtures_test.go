package ci_test

import (
	"maps"

	"github.com/hallmark-dev/hallmark/ci"
)

// gitLabVars is a GitLab CI job's environment, as in GitLab's
// predefined-variables reference.
var gitLabVars = map[string]string{
	"GITLAB_CI":            "true",
	"GITLAB_USER_NAME":     "Jane Doe",
	"CI_PIPELINE_ID":       "1234",
	"CI_PIPELINE_URL":      "https://gitlab.example.com/group/project/-/pipelines/1234",
	"CI_JOB_ID":            "5678",
	"CI_JOB_URL":           "https://gitlab.example.com/group/project/-/jobs/5678",
	"CI_COMMIT_SHA":        "0123456789abcdef0123456789abcdef01234567",
	"CI_COMMIT_SHORT_SHA":  "01234567",
	"CI_COMMIT_REF_NAME":   "main",
	"CI_PROJECT_PATH":      "group/project",
	"CI_PROJECT_URL":       "https://gitlab.example.com/group/project",
	"CI_SERVER_URL":        "https://gitlab.example.com",
	"CI_REGISTRY":          "registry.example.com",
	"CI_REGISTRY_IMAGE":    "registry.example.com/group/project",
	"CI_REGISTRY_USER":     "gitlab-ci-token",
	"CI_REGISTRY_PASSWORD": "glcbt-registry-secret",
	"CI_JOB_TOKEN":         "glcbt-job-secret",
	"SIGSTORE_ID_TOKEN":    "eyJ.secret.token",
}

// gitHubVars is a GitHub Actions job's environment.
var gitHubVars = map[string]string{
	"GITHUB_ACTIONS":                 "true",
	"GITHUB_ACTOR":                   "octocat",
	"GITHUB_RUN_ID":                  "987654321",
	"GITHUB_RUN_ATTEMPT":             "1",
	"GITHUB_JOB":                     "release",
	"GITHUB_SHA":                     "fedcba9876543210fedcba9876543210fedcba98",
	"GITHUB_REF":                     "refs/heads/main",
	"GITHUB_REPOSITORY":              "Octo-Org/Hello-World",
	"GITHUB_SERVER_URL":              "https://github.com",
	"GITHUB_WORKFLOW_REF":            "Octo-Org/Hello-World/.github/workflows/release.yml@refs/heads/main",
	"GITHUB_TOKEN":                   "ghs_secret",
	"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://pipelines.actions.githubusercontent.com/abc?secret=1",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "actions-request-secret",
}

// detect returns the Env for vars changed by edits; an empty edit value
// unsets the variable.
func detect(vars map[string]string, edits ...map[string]string) ci.Env {
	m := maps.Clone(vars)
	for _, e := range edits {
		for k, v := range e {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
	}
	return ci.Detect(func(k string) string { return m[k] })
}

// secrets lists the secret values in the fixtures.
var secrets = []string{
	"glcbt-registry-secret", "glcbt-job-secret", "eyJ.secret.token",
	"ghs_secret", "actions-request-secret", "secret=1",
}
