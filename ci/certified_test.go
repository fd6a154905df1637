package ci_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/hallmark-dev/hallmark/ci"
)

// gitLabCert is what Fulcio's gitlab-pipeline template certifies for the
// job of gitLabVars (source URI {url}/{project_path}, digest sha, ref
// refs/heads/{ref}, run invocation {url}/{project_path}/-/jobs/{job_id}).
var gitLabCert = certificate.Extensions{
	Issuer:                 "https://gitlab.example.com",
	SourceRepositoryURI:    "https://gitlab.example.com/group/project",
	SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
	SourceRepositoryRef:    "refs/heads/main",
	RunInvocationURI:       "https://gitlab.example.com/group/project/-/jobs/5678",
}

// gitHubCert is what Fulcio's github-workflow template certifies for the
// run of gitHubVars (attempt 1).
var gitHubCert = certificate.Extensions{
	Issuer:                 "https://token.actions.githubusercontent.com",
	SourceRepositoryURI:    "https://github.com/Octo-Org/Hello-World",
	SourceRepositoryDigest: "fedcba9876543210fedcba9876543210fedcba98",
	SourceRepositoryRef:    "refs/heads/main",
	RunInvocationURI:       "https://github.com/Octo-Org/Hello-World/actions/runs/987654321/attempts/1",
	BuildConfigURI:         "https://github.com/Octo-Org/Hello-World/.github/workflows/release.yml@refs/heads/main",
}

// TestBindJobAnnotations: the annotations a job attaches are bound to its
// own certificate — every certifiable one — and the rest are only signed.
func TestBindJobAnnotations(t *testing.T) {
	tests := []struct {
		name       string
		env        ci.Env
		ext        certificate.Extensions
		bound      []string
		signedOnly []string
	}{{
		name: "GitLab", env: detect(gitLabVars), ext: gitLabCert,
		bound: []string{"com.gitlab.ci.commit.ref.name", "com.gitlab.ci.commit.sha", "com.gitlab.ci.job.id",
			"com.gitlab.ci.job.url", "com.gitlab.ci.project.path", ci.KeyRevision, ci.KeySource},
		signedOnly: []string{"com.gitlab.ci.pipeline.id", "com.gitlab.ci.pipeline.url", "com.gitlab.ci.user.name", ci.KeyTag},
	}, {
		name: "GitHub Actions", env: detect(gitHubVars), ext: gitHubCert,
		bound: []string{"com.github.actions.ref", "com.github.actions.repository", "com.github.actions.run.attempt", "com.github.actions.run.id",
			"com.github.actions.run.invocation.url", "com.github.actions.run.url", "com.github.actions.sha",
			"com.github.actions.workflow.ref", "com.github.actions.workflow.url", ci.KeyRevision, ci.KeySource},
		signedOnly: []string{"com.github.actions.actor", "com.github.actions.job", ci.KeyTag},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bound, signedOnly, err := ci.CertifiedByExtensions(tt.ext).Bind(tt.env.Annotations("v1"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(bound, tt.bound) || !slices.Equal(signedOnly, tt.signedOnly) {
				t.Errorf("bound %v, signed only %v; want %v and %v", bound, signedOnly, tt.bound, tt.signedOnly)
			}
		})
	}
}

// TestBindRefuses: an annotation that says something else than the
// certificate — a spoofed CI variable or an -a value — is named with both
// values.
func TestBindRefuses(t *testing.T) {
	tests := []struct {
		name     string
		ext      certificate.Extensions
		ann      map[string]string
		key      string
		inReason []string
	}{
		{"spoofed commit", gitLabCert, map[string]string{"com.gitlab.ci.commit.sha": "f00d"}, "com.gitlab.ci.commit.sha",
			[]string{`"f00d"`, "Source Repository Digest", gitLabCert.SourceRepositoryDigest}},
		{"revision", gitLabCert, map[string]string{ci.KeyRevision: "f00d", "tag": "v1"}, ci.KeyRevision, []string{"Source Repository Digest"}},
		{"another project", gitLabCert, map[string]string{"com.gitlab.ci.project.path": "other/app"}, "com.gitlab.ci.project.path", []string{"Source Repository URI"}},
		{"another job", gitLabCert, map[string]string{"com.gitlab.ci.job.id": "1"}, "com.gitlab.ci.job.id", []string{"Run Invocation URI", `"5678"`}},
		{"another branch", gitLabCert, map[string]string{"com.gitlab.ci.commit.ref.name": "release"}, "com.gitlab.ci.commit.ref.name", []string{"Source Repository Ref", `"main"`}},
		{"GitHub run", gitHubCert, map[string]string{"com.github.actions.run.id": "1"}, "com.github.actions.run.id", []string{"Run Invocation URI"}},
		{"GitHub source", gitHubCert, map[string]string{ci.KeySource: "https://github.com/evil/fork"}, ci.KeySource, []string{"Source Repository URI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ci.CertifiedByExtensions(tt.ext).Bind(tt.ann)
			var ue *ci.UnboundError
			if !errors.As(err, &ue) || len(ue.Mismatches) != 1 || ue.Mismatches[0].Key != tt.key {
				t.Fatalf("Bind = %v, want one mismatch on %s", err, tt.key)
			}
			for _, s := range append(tt.inReason, tt.key) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
}

// TestCertifiedNothing: a certificate without CI extensions (a person's
// identity) certifies nothing, and GitLab keys are not read from a GitHub
// certificate nor the reverse.
func TestCertifiedNothing(t *testing.T) {
	if got := ci.CertifiedByExtensions(certificate.Extensions{Issuer: "https://accounts.example.com"}).Values; len(got) != 0 {
		t.Errorf("a person's certificate certifies %v", got)
	}
	for key := range ci.CertifiedByExtensions(gitHubCert).Values {
		if strings.HasPrefix(key, "com.gitlab.") {
			t.Errorf("a GitHub certificate certifies %s", key)
		}
	}
	for key := range ci.CertifiedByExtensions(gitLabCert).Values {
		if strings.HasPrefix(key, "com.github.") {
			t.Errorf("a GitLab certificate certifies %s", key)
		}
	}
}
