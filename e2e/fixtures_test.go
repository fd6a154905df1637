package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// keyPair writes an encrypted cosign key pair into a temp dir.
func keyPair(t *testing.T, password string) (priv, pub string) {
	t.Helper()
	kp, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// gitlabEnv is a GitLab CI job's environment for project group/app
// pushing to registry (plain HTTP on the bed).
func gitlabEnv(registry, sha string) map[string]string {
	return map[string]string{
		"GITLAB_CI":           "true",
		"CI":                  "true",
		"CI_SERVER_URL":       "https://gitlab.example.com",
		"CI_PROJECT_URL":      "https://gitlab.example.com/group/app",
		"CI_PROJECT_PATH":     "group/app",
		"CI_REGISTRY":         registry,
		"CI_REGISTRY_IMAGE":   registry + "/group/app",
		"CI_COMMIT_SHA":       sha,
		"CI_COMMIT_SHORT_SHA": sha[:8],
		"CI_COMMIT_REF_NAME":  "main",
		"CI_PIPELINE_ID":      "4242",
		"CI_PIPELINE_URL":     "https://gitlab.example.com/group/app/-/pipelines/4242",
		"CI_JOB_ID":           "9001",
		"CI_JOB_URL":          "https://gitlab.example.com/group/app/-/jobs/9001",
		"GITLAB_USER_NAME":    "Ada Lovelace",
	}
}

// gitlabAnnotations are the 11 annotations the tutorial attaches for env.
func gitlabAnnotations(env map[string]string, tag string) map[string]string {
	return map[string]string{
		"com.gitlab.ci.user.name":           env["GITLAB_USER_NAME"],
		"com.gitlab.ci.pipeline.id":         env["CI_PIPELINE_ID"],
		"com.gitlab.ci.pipeline.url":        env["CI_PIPELINE_URL"],
		"com.gitlab.ci.job.id":              env["CI_JOB_ID"],
		"com.gitlab.ci.job.url":             env["CI_JOB_URL"],
		"com.gitlab.ci.commit.sha":          env["CI_COMMIT_SHA"],
		"com.gitlab.ci.commit.ref.name":     env["CI_COMMIT_REF_NAME"],
		"com.gitlab.ci.project.path":        env["CI_PROJECT_PATH"],
		"org.opencontainers.image.source":   env["CI_PROJECT_URL"],
		"org.opencontainers.image.revision": env["CI_COMMIT_SHA"],
		"tag":                               tag,
	}
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// containsAny reports whether s contains any of the secrets.
func containsAny(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			return sec
		}
	}
	return ""
}
