package ci_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
)

func TestCredentials(t *testing.T) {
	tests := []struct {
		name string
		env  ci.Env
		want []string // String forms
	}{
		{"gitlab: registry user first, job token second", detect(gitLabVars), []string{
			"gitlab-ci-token@registry.example.com (from CI_REGISTRY_USER/CI_REGISTRY_PASSWORD)",
			"gitlab-ci-token@registry.example.com (from CI_JOB_TOKEN)",
		}},
		{"gitlab: job token only", detect(gitLabVars, map[string]string{"CI_REGISTRY_PASSWORD": ""}), []string{
			"gitlab-ci-token@registry.example.com (from CI_JOB_TOKEN)",
		}},
		{"gitlab: no registry", detect(gitLabVars, map[string]string{"CI_REGISTRY": ""}), nil},
		{"github", detect(gitHubVars), []string{"octocat@ghcr.io (from GITHUB_ACTOR/GITHUB_TOKEN)"}},
		{"github without GITHUB_TOKEN", detect(gitHubVars, map[string]string{"GITHUB_TOKEN": ""}), nil},
		{"generic ignores CI-looking variables", detect(map[string]string{
			"CI_REGISTRY": "r", "CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": "p"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range tt.env.Credentials() {
				got = append(got, c.String())
				if c.Password == "" {
					t.Errorf("%v: empty password", c)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if c := detect(gitLabVars).Credentials(); c[0].Password != "glcbt-registry-secret" || c[1].Password != "glcbt-job-secret" {
		t.Errorf("passwords not carried: got %d credentials", len(c))
	}
}

// TestSecretsNeverPrinted checks every way a Credential or Env is commonly
// printed, logged or marshalled.
func TestSecretsNeverPrinted(t *testing.T) {
	gl, gh := detect(gitLabVars), detect(gitHubVars)
	creds := append(gl.Credentials(), gh.Credentials()...)
	values := []any{gl, gh, &gl, creds, creds[0], &creds[0],
		struct{ C ci.Credential }{creds[0]}, map[string]ci.Credential{"x": creds[1]},
		struct{ E ci.Env }{gh}, gl.OIDC(), gh.OIDC()}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		for _, v := range values {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	fmt.Fprintln(&out, values...)
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		out.Write(b)
	}
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("x", "cred", creds[0], "env", gl, "creds", creds)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "cred", creds[1], "env", gh)

	if len(creds) != 3 {
		t.Fatalf("fixtures yield %d credentials, want 3", len(creds))
	}
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret %q printed:\n%s", s, out.String())
		}
		if strings.Contains(out.String(), fmt.Sprintf("%x", s)) {
			t.Errorf("secret %q printed hex-encoded", s)
		}
	}
	for _, want := range []string{"registry.example.com", "CI_JOB_TOKEN", `"source":"GITHUB_ACTOR/GITHUB_TOKEN"`, "gitlab"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name       string
		env        ci.Env
		image, tag string
	}{
		{"gitlab", detect(gitLabVars), "registry.example.com/group/project", "01234567"},
		{"github lower-cases the repository", detect(gitHubVars), "ghcr.io/octo-org/hello-world", "fedcba98"},
		{"github short sha", detect(gitHubVars, map[string]string{"GITHUB_SHA": "abc", "GITHUB_REPOSITORY": ""}), "", "abc"},
		{"generic", detect(map[string]string{"CI_REGISTRY_IMAGE": "x", "GITHUB_SHA": "y"}), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.env.DefaultImage(); got != tt.image {
				t.Errorf("DefaultImage = %q, want %q", got, tt.image)
			}
			if got := tt.env.DefaultTag(); got != tt.tag {
				t.Errorf("DefaultTag = %q, want %q", got, tt.tag)
			}
		})
	}
}

func TestOIDC(t *testing.T) {
	tests := []struct {
		name    string
		env     ci.Env
		vars    []string
		present bool
		hint    string
	}{
		{"gitlab id_tokens", detect(gitLabVars), []string{"SIGSTORE_ID_TOKEN"}, true, ""},
		{"gitlab without id_tokens", detect(gitLabVars, map[string]string{"SIGSTORE_ID_TOKEN": ""}),
			[]string{"SIGSTORE_ID_TOKEN"}, false, "id_tokens"},
		{"github", detect(gitHubVars), []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, true, ""},
		{"github without id-token permission", detect(gitHubVars, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""}),
			[]string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, false, "id-token: write"},
		{"github with SIGSTORE_ID_TOKEN", detect(gitHubVars, map[string]string{"SIGSTORE_ID_TOKEN": "eyJ.secret.token"}),
			[]string{"SIGSTORE_ID_TOKEN"}, true, ""},
		{"generic", detect(nil), []string{"SIGSTORE_ID_TOKEN"}, false, "{signer.Options.IdentityToken}"},
		{"generic with token", detect(map[string]string{"SIGSTORE_ID_TOKEN": "eyJ.secret.token"}), []string{"SIGSTORE_ID_TOKEN"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.env.OIDC()
			if !slices.Equal(got.Variables, tt.vars) || got.Present != tt.present || !strings.Contains(got.Hint, tt.hint) {
				t.Errorf("OIDC() = %+v, want variables %v present %v hint containing %q", got, tt.vars, tt.present, tt.hint)
			}
			if tt.present != (got.Hint == "") {
				t.Errorf("hint %q with present=%v", got.Hint, got.Present)
			}
		})
	}
}
