package ci

import (
	"errors"
	"fmt"
	"strings"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions ID tokens on github.com.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// ErrNoPolicy reports that the environment does not determine a signing
// identity: not in a recognised CI system, or required variables unset.
var ErrNoPolicy = errors.New("no signing identity derivable from the CI environment")

// Policy is the keyless signing identity a verifier expects: the
// certificate's subject (SAN) and the OIDC issuer.
type Policy struct {
	Identity string `json:"identity"`
	Issuer   string `json:"issuer"`
}

// Policy returns the identity and issuer a keyless signature made in this
// CI job carries, for verification without explicit flags:
//
//   - GitLab: identity $CI_PROJECT_URL//$CI_CONFIG_PATH@refs/heads/$CI_COMMIT_REF_NAME
//     (refs/tags/ when $CI_COMMIT_TAG is set; CI_CONFIG_PATH defaults to
//     .gitlab-ci.yml), issuer $CI_SERVER_URL — the ci_config_ref_uri claim
//     Fulcio puts in the certificate. Where GitLab exports that claim as
//     $CI_CONFIG_REF_URI (newer releases), https://$CI_CONFIG_REF_URI is
//     used as is.
//   - GitHub Actions: identity $GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF,
//     issuer https://token.actions.githubusercontent.com (on GitHub
//     Enterprise Server, $GITHUB_SERVER_URL/_services/token).
//
// The result describes the top-level pipeline or workflow file; a
// signature made from a GitLab CI_CONFIG_PATH in another project or from a
// GitHub reusable workflow carries that file's identity instead. The error
// wraps ErrNoPolicy and names the missing variables.
func (e Env) Policy() (Policy, error) {
	switch e.Provider {
	case GitLab:
		return e.gitLabPolicy()
	case GitHubActions:
		return e.gitHubPolicy()
	}
	return Policy{}, fmt.Errorf("%w: not running in GitLab CI or GitHub Actions", ErrNoPolicy)
}

func (e Env) gitLabPolicy() (Policy, error) {
	issuer := strings.TrimRight(e.get("CI_SERVER_URL"), "/")
	if uri := e.get("CI_CONFIG_REF_URI"); uri != "" && issuer != "" {
		return Policy{Identity: "https://" + uri, Issuer: issuer}, nil
	}
	if err := e.require("CI_PROJECT_URL", "CI_COMMIT_REF_NAME", "CI_SERVER_URL"); err != nil {
		return Policy{}, err
	}
	config := e.get("CI_CONFIG_PATH")
	if config == "" {
		config = ".gitlab-ci.yml"
	}
	kind := "heads"
	if e.get("CI_COMMIT_TAG") != "" {
		kind = "tags"
	}
	return Policy{
		Identity: fmt.Sprintf("%s//%s@refs/%s/%s",
			strings.TrimRight(e.get("CI_PROJECT_URL"), "/"), config, kind, e.get("CI_COMMIT_REF_NAME")),
		Issuer: issuer,
	}, nil
}

func (e Env) gitHubPolicy() (Policy, error) {
	if err := e.require("GITHUB_SERVER_URL", "GITHUB_WORKFLOW_REF"); err != nil {
		return Policy{}, err
	}
	server := strings.TrimRight(e.get("GITHUB_SERVER_URL"), "/")
	issuer := GitHubIssuer
	if server != "https://github.com" {
		issuer = server + "/_services/token"
	}
	return Policy{Identity: server + "/" + e.get("GITHUB_WORKFLOW_REF"), Issuer: issuer}, nil
}

// require returns an error wrapping ErrNoPolicy naming the unset variables.
func (e Env) require(names ...string) error {
	var missing []string
	for _, n := range names {
		if e.get(n) == "" {
			missing = append(missing, "$"+n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s unset", ErrNoPolicy, strings.Join(missing, ", "))
	}
	return nil
}

// ShellJoin joins args into a POSIX shell command line, single-quoting
// every argument that contains anything but safe characters.
func ShellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
