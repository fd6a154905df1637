package e2e

import (
	"maps"
	"net/url"
	"strings"
	"testing"
)

// keylessGitLabEnv is a GitLab job whose server is the bed's OIDC issuer,
// with a freshly minted SIGSTORE_ID_TOKEN for group/app on main: the
// token's commit and job are the environment's, as GitLab's are, so the
// certificate certifies the job's annotations.
func keylessGitLabEnv(t *testing.T, b testbed, reg string, tokenQuery url.Values) (map[string]string, string) {
	t.Helper()
	env := gitlabEnv(reg, "89abcdef0123456789abcdef0123456789abcdef")
	env["CI_SERVER_URL"] = b.Issuer()
	env["CI_PROJECT_URL"] = b.Issuer() + "/group/app"
	env["CI_PIPELINE_URL"] = env["CI_PROJECT_URL"] + "/-/pipelines/" + env["CI_PIPELINE_ID"]
	env["CI_JOB_URL"] = env["CI_PROJECT_URL"] + "/-/jobs/" + env["CI_JOB_ID"]
	env["CI_REGISTRY_IMAGE"] = uniqueRepo(t, reg)
	q := url.Values{"project_path": {"group/app"}, "ref": {"main"}, "sha": {env["CI_COMMIT_SHA"]}, "job_id": {env["CI_JOB_ID"]}}
	maps.Copy(q, tokenQuery)
	tok := b.Token(t, q.Encode())
	env["SIGSTORE_ID_TOKEN"] = tok
	return env, tok
}

// TestReleaseKeyless runs the tutorial's job keyless on the bed's default
// path in every mode on both registries: a certificate with an SCT from the
// bed's CT log, a TSA timestamp, and for bundles an entry in the bed's
// Rekor v2 (simple signatures cannot carry one: see defaultPathSign); then
// hallmark and both cosign CLIs verify with the tutorial's flags and every
// check the format allows on (no --insecure-ignore-sct; no
// --insecure-ignore-tlog for bundles).
func TestReleaseKeyless(t *testing.T) {
	b := bed(t)
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, mode := range []string{"bundle", "legacy", "oci-1-1", "both"} {
			t.Run(strings.ReplaceAll(reg, ":", "_")+"/"+mode, func(t *testing.T) {
				t.Parallel()
				sign, trust := defaultPathSign(t, b, mode)
				ctxDir, df := buildContext(t, b)
				env, tok := keylessGitLabEnv(t, b, reg, nil)
				args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
					"--progress", "quiet"}, append(append(storageArgs(mode), sign...), trust[2:]...)...)
				r := hallmark(t, envList(env), args...)
				mustSucceed(t, r)
				if containsAny(r.Stdout+r.Stderr, tok) != "" {
					t.Fatal("the OIDC token appears in the output")
				}
				rel := parseRelease(t, r)
				identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
				if rel.Verified.Identity != identity || rel.Verified.Issuer != b.Issuer() {
					t.Errorf("verified %+v, want identity %s issuer %s", rel.Verified, identity, b.Issuer())
				}
				if want := gitlabAnnotations(env, env["CI_COMMIT_SHORT_SHA"]); !maps.Equal(rel.Signatures[0].Annotations, want) {
					t.Errorf("annotations\n got %v\nwant %v", rel.Signatures[0].Annotations, want)
				}

				// The tutorial's verify, by hallmark and by the real cosign CLI.
				verify := append([]string{"verify", "--insecure-registry", reg, "--annotations", "tag=" + env["CI_COMMIT_SHORT_SHA"],
					"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
				mustSucceed(t, hallmark(t, nil, append(verify, rel.Image)...))
				cosignVerify(t, b, mode, reg, rel.Image, identity, "tag="+env["CI_COMMIT_SHORT_SHA"], trust)
			})
		}
	}
}

// TestReleaseKeylessFailures checks the keyless failure paths: each says
// what is wrong, exits with its stage's code, and never prints the token.
func TestReleaseKeylessFailures(t *testing.T) {
	b := bed(t)
	sign, _ := defaultPathSign(t, b, "bundle")
	reg := b.PlainRegistry()
	tests := []struct {
		name      string
		tokenQ    url.Values
		extra     []string
		code      int
		fragments []string
	}{
		{"identity mismatch", nil, []string{"--certificate-identity", "https://gitlab.example.com/other/app//.gitlab-ci.yml@refs/heads/main"}, exitVerify, []string{"verification failed", "identity"}},
		{"issuer mismatch", nil, []string{"--certificate-identity-regexp", ".*", "--certificate-oidc-issuer", "https://gitlab.example.com"}, exitVerify, []string{"verification failed", "issuer"}},
		{"expired token", url.Values{"ttl": {"-1m"}}, nil, exitUsage, []string{"expired OIDC identity token"}},
		{"wrong audience", url.Values{"aud": {"not-sigstore"}}, nil, exitUsage, []string{"wrong audience", "not-sigstore"}},
		{"Fulcio unreachable", nil, []string{"--fulcio-url", "http://127.0.0.1:1"}, exitSign, []string{"fulcio", "127.0.0.1:1"}},
		// The verification's trust is loaded before the push: nothing pushed.
		{"CA roots beside the trusted root", nil, []string{"--ca-roots", b.Getenv("HALLMARK_TEST_FULCIO_CHAIN")}, exitUsage, []string{"--trusted-root", "--ca-roots"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			env, tok := keylessGitLabEnv(t, b, reg, tt.tokenQ)
			args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
				"--progress", "quiet"}, sign...)
			r := hallmark(t, envList(env), append(args, tt.extra...)...)
			assertOneLineError(t, r, tt.code, tt.fragments...)
			if containsAny(r.Stdout+r.Stderr, tok) != "" {
				t.Error("the OIDC token appears in the output")
			}
			if tt.code != exitVerify { // checked before the build: nothing pushed
				assertNotPushed(t, env["CI_REGISTRY_IMAGE"]+":"+env["CI_COMMIT_SHORT_SHA"])
			}
		})
	}
}
