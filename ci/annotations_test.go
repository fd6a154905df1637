package ci_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want ci.Provider
	}{
		{"gitlab", gitLabVars, ci.GitLab},
		{"github", gitHubVars, ci.GitHubActions},
		{"none", nil, ci.Generic},
		{"gitlab not true", map[string]string{"GITLAB_CI": "1"}, ci.Generic},
		{"github false", map[string]string{"GITHUB_ACTIONS": "false"}, ci.Generic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detect(tt.vars).Provider; got != tt.want {
				t.Errorf("Provider = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	tests := []struct {
		name string
		env  ci.Env
		tag  string
		want map[string]string
	}{{
		name: "gitlab: exactly the 11 keys of the GitLab provenance pipeline",
		env:  detect(gitLabVars),
		tag:  "01234567",
		want: map[string]string{
			"com.gitlab.ci.user.name":           "Jane Doe",
			"com.gitlab.ci.pipeline.id":         "1234",
			"com.gitlab.ci.pipeline.url":        "https://gitlab.example.com/group/project/-/pipelines/1234",
			"com.gitlab.ci.job.id":              "5678",
			"com.gitlab.ci.job.url":             "https://gitlab.example.com/group/project/-/jobs/5678",
			"com.gitlab.ci.commit.sha":          "0123456789abcdef0123456789abcdef01234567",
			"com.gitlab.ci.commit.ref.name":     "main",
			"com.gitlab.ci.project.path":        "group/project",
			"org.opencontainers.image.source":   "https://gitlab.example.com/group/project",
			"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
			"tag":                               "01234567",
		},
	}, {
		name: "github",
		env:  detect(gitHubVars),
		tag:  "v1.2.3",
		want: map[string]string{
			"com.github.actions.actor":   "octocat",
			"com.github.actions.run.id":  "987654321",
			"com.github.actions.run.url": "https://github.com/Octo-Org/Hello-World/actions/runs/987654321",
			// What Fulcio's GitHub certificate records as Run Invocation
			// URI and Build Config URI.
			"com.github.actions.run.attempt":        "1",
			"com.github.actions.run.invocation.url": "https://github.com/Octo-Org/Hello-World/actions/runs/987654321/attempts/1",
			"com.github.actions.workflow.ref":       "Octo-Org/Hello-World/.github/workflows/release.yml@refs/heads/main",
			"com.github.actions.workflow.url":       "https://github.com/Octo-Org/Hello-World/.github/workflows/release.yml@refs/heads/main",
			"com.github.actions.job":                "release",
			"com.github.actions.sha":                "fedcba9876543210fedcba9876543210fedcba98",
			"com.github.actions.ref":                "refs/heads/main",
			"com.github.actions.repository":         "Octo-Org/Hello-World",
			"org.opencontainers.image.source":       "https://github.com/Octo-Org/Hello-World",
			"org.opencontainers.image.revision":     "fedcba9876543210fedcba9876543210fedcba98",
			"tag":                                   "v1.2.3",
		},
	}, {
		name: "gitlab: empty values and empty tag are left out",
		env:  detect(gitLabVars, map[string]string{"GITLAB_USER_NAME": "", "CI_PROJECT_URL": ""}),
		want: func() map[string]string {
			m := detect(gitLabVars).Annotations("")
			delete(m, "com.gitlab.ci.user.name")
			delete(m, "org.opencontainers.image.source")
			return m
		}(),
	}, {
		name: "github: a URL with a missing part is left out",
		env:  detect(gitHubVars, map[string]string{"GITHUB_SERVER_URL": ""}),
		tag:  "x",
		want: func() map[string]string {
			m := detect(gitHubVars).Annotations("x")
			delete(m, "com.github.actions.run.url")
			delete(m, "com.github.actions.run.invocation.url")
			delete(m, "com.github.actions.workflow.url")
			delete(m, "org.opencontainers.image.source")
			return m
		}(),
	}, {
		name: "generic: only the tag",
		env:  detect(nil),
		tag:  "dev",
		want: map[string]string{"tag": "dev"},
	}, {
		name: "generic without tag: nothing",
		env:  detect(map[string]string{"CI_COMMIT_SHA": "abc"}),
		want: map[string]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.env.Annotations(tt.tag)
			if !maps.Equal(got, tt.want) {
				t.Errorf("Annotations(%q) =\n%v\nwant\n%v", tt.tag, got, tt.want)
			}
			for k, v := range got {
				if v == "" {
					t.Errorf("empty value for %q", k)
				}
			}
		})
	}
	if n := len(detect(gitLabVars).Annotations("t")); n != 11 {
		t.Errorf("GitLab fixture yields %d annotations, want 11", n)
	}
}

func TestResolveAnnotations(t *testing.T) {
	noGit := t.TempDir() // no .git here or above, as long as TMPDIR is not in a checkout
	tests := []struct {
		name string
		env  ci.Env
		req  ci.AnnotationRequest
		want map[string]string
	}{{
		name: "explicit wins over automatic",
		env:  detect(gitLabVars),
		req: ci.AnnotationRequest{Tag: "t1", Dir: noGit, Explicit: map[string]string{
			"tag": "override", "com.gitlab.ci.job.id": "1", "team": "blue"}},
		want: ci.Merge(detect(gitLabVars).Annotations("t1"), map[string]string{
			"tag": "override", "com.gitlab.ci.job.id": "1", "team": "blue"}),
	}, {
		name: "explicit empty value is kept: the user asked for it",
		env:  detect(gitHubVars),
		req:  ci.AnnotationRequest{Dir: noGit, Explicit: map[string]string{"com.github.actions.job": ""}},
		want: ci.Merge(detect(gitHubVars).Annotations(""), map[string]string{"com.github.actions.job": ""}),
	}, {
		name: "no-ci keeps tag and explicit only",
		env:  detect(gitLabVars),
		req:  ci.AnnotationRequest{Tag: "t1", NoCI: true, Explicit: map[string]string{"a": "b"}},
		want: map[string]string{"tag": "t1", "a": "b"},
	}, {
		name: "no-ci without tag",
		env:  detect(gitLabVars),
		req:  ci.AnnotationRequest{NoCI: true},
		want: map[string]string{},
	}, {
		name: "generic without checkout",
		env:  detect(nil),
		req:  ci.AnnotationRequest{Tag: "t", Dir: noGit},
		want: map[string]string{"tag": "t"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.env.ResolveAnnotations(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestMergeDoesNotModifyArguments(t *testing.T) {
	auto := map[string]string{"a": "1", "b": "2"}
	explicit := map[string]string{"b": "3"}
	got := ci.Merge(auto, explicit)
	if want := map[string]string{"a": "1", "b": "3"}; !maps.Equal(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	if auto["b"] != "2" || len(explicit) != 1 {
		t.Errorf("arguments modified: %v %v", auto, explicit)
	}
	if got := ci.Merge(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("Merge(nil, nil) = %#v, want empty map", got)
	}
}

func TestParseAnnotations(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]string
		wantErr string
	}{
		{args: nil, want: map[string]string{}},
		{args: []string{"a=b", "c=d=e", "empty=", "a=last"}, want: map[string]string{"a": "last", "c": "d=e", "empty": ""}},
		{args: []string{"tag=v1", "url=https://x/?q=1&r=2"}, want: map[string]string{"tag": "v1", "url": "https://x/?q=1&r=2"}},
		{args: []string{"a=b", "novalue"}, wantErr: `invalid annotation "novalue": want key=value, missing '='`},
		{args: []string{"=v"}, wantErr: `invalid annotation "=v": empty key`},
		{args: []string{" =v"}, wantErr: `invalid annotation " =v": empty key`},
		{args: []string{""}, wantErr: `invalid annotation "": want key=value, missing '='`},
		{args: []string{"k =v"}, wantErr: `invalid annotation "k =v": key has leading or trailing spaces`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, ","), func(t *testing.T) {
			got, err := ci.ParseAnnotations(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ci.ErrAnnotation) {
					t.Fatalf("err = %v, want %q wrapping ErrAnnotation", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
