package ci_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
)

func TestPolicy(t *testing.T) {
	tests := []struct {
		name    string
		env     ci.Env
		want    ci.Policy
		wantErr string
	}{{
		name: "gitlab branch pipeline",
		env:  detect(gitLabVars),
		want: ci.Policy{
			Identity: "https://gitlab.example.com/group/project//.gitlab-ci.yml@refs/heads/main",
			Issuer:   "https://gitlab.example.com",
		},
	}, {
		name: "gitlab tag pipeline",
		env:  detect(gitLabVars, map[string]string{"CI_COMMIT_TAG": "v1.0.0", "CI_COMMIT_REF_NAME": "v1.0.0"}),
		want: ci.Policy{
			Identity: "https://gitlab.example.com/group/project//.gitlab-ci.yml@refs/tags/v1.0.0",
			Issuer:   "https://gitlab.example.com",
		},
	}, {
		name: "gitlab custom config path, trailing slashes",
		env: detect(gitLabVars, map[string]string{"CI_CONFIG_PATH": "ci/build.yml",
			"CI_PROJECT_URL": "https://gitlab.example.com/group/project/", "CI_SERVER_URL": "https://gitlab.example.com/"}),
		want: ci.Policy{
			Identity: "https://gitlab.example.com/group/project//ci/build.yml@refs/heads/main",
			Issuer:   "https://gitlab.example.com",
		},
	}, {
		name: "gitlab with CI_CONFIG_REF_URI (authoritative when GitLab exports it)",
		env: detect(gitLabVars, map[string]string{"CI_CONFIG_REF_URI": "gitlab.example.com/group/project//ci/x.yml@refs/heads/feature",
			"CI_PROJECT_URL": ""}),
		want: ci.Policy{
			Identity: "https://gitlab.example.com/group/project//ci/x.yml@refs/heads/feature",
			Issuer:   "https://gitlab.example.com",
		},
	}, {
		name:    "gitlab missing variables",
		env:     detect(gitLabVars, map[string]string{"CI_SERVER_URL": "", "CI_COMMIT_REF_NAME": ""}),
		wantErr: "no signing identity derivable from the CI environment: $CI_COMMIT_REF_NAME, $CI_SERVER_URL unset",
	}, {
		name: "github.com",
		env:  detect(gitHubVars),
		want: ci.Policy{
			Identity: "https://github.com/Octo-Org/Hello-World/.github/workflows/release.yml@refs/heads/main",
			Issuer:   "https://token.actions.githubusercontent.com",
		},
	}, {
		name: "github enterprise server",
		env: detect(gitHubVars, map[string]string{"GITHUB_SERVER_URL": "https://ghe.example.com",
			"GITHUB_WORKFLOW_REF": "o/r/.github/workflows/x.yml@refs/tags/v2"}),
		want: ci.Policy{
			Identity: "https://ghe.example.com/o/r/.github/workflows/x.yml@refs/tags/v2",
			Issuer:   "https://ghe.example.com/_services/token",
		},
	}, {
		name:    "github missing workflow ref",
		env:     detect(gitHubVars, map[string]string{"GITHUB_WORKFLOW_REF": ""}),
		wantErr: "no signing identity derivable from the CI environment: $GITHUB_WORKFLOW_REF unset",
	}, {
		name:    "generic",
		env:     detect(nil),
		wantErr: "no signing identity derivable from the CI environment: not running in GitLab CI or GitHub Actions",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.env.Policy()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ci.ErrNoPolicy) {
					t.Fatalf("err = %v, want %q wrapping ErrNoPolicy", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Policy() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestShellJoinParses: the shell sees exactly the arguments ShellJoin
// was given, hostile characters included.
func TestShellJoinParses(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to check quoting: %v", err)
	}
	args := []string{"cosign", "verify", "--certificate-identity", "https://gitlab.example.com/group/project//.gitlab-ci.yml@refs/heads/main",
		"--annotations", "empty=", "--annotations", "note=it's $HOME & `x`", "--annotations", "tag=01234567",
		"--trusted-root", "/tmp/trusted root.json", "registry.example.com/group/project@sha256:" + strings.Repeat("a", 64)}
	out, err := exec.CommandContext(t.Context(), sh, "-c", `printf '%s\0' `+ci.ShellJoin(args)).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	if parsed := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"); !slices.Equal(parsed, args) {
		t.Errorf("shell parses the command as\n%q\nwant\n%q", parsed, args)
	}
}

func TestShellJoin(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"a", "b=c", "x@sha256:0f"}, "a b=c x@sha256:0f"},
		{[]string{"", "a b", "'", "~", "*", "$x", "a\nb"}, `'' 'a b' ''"'"'' '~' '*' '$x' 'a` + "\n" + `b'`},
	}
	for _, tt := range tests {
		if got := ci.ShellJoin(tt.args); got != tt.want {
			t.Errorf("ShellJoin(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}
