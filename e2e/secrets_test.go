package e2e

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// Distinctive secret values: none may ever be printed or written.
const (
	secretRegistryPassword = "regpass-hallmark-7f3a9c2e"
	secretJobToken         = "jobtoken-hallmark-51d0b8aa"
	secretWrongPassword    = "regpass-wrong-hallmark-0e8d41"
	secretWrongJobToken    = "jobtoken-wrong-hallmark-66c2f9"
	secretKeyPassword      = "keypass-hallmark-c04e2d17"
	secretWrongKeyPassword = "keypass-wrong-hallmark-9a6b3f01"
	secretMalformedToken   = "malformed-oidc-token-hallmark-b7e1d2"
)

// TestSecretsNeverLeak runs every command with --debug as a GitLab job
// whose registry demands the job's credentials, through a proxy injecting
// faults, on succeeding and failing paths, and fails if any OIDC token,
// registry password, CI_JOB_TOKEN or key password appears in stdout,
// stderr, a metadata file or a dotenv file.
func TestSecretsNeverLeak(t *testing.T) {
	b := bed(t)
	t.Parallel()
	sign, trust := defaultPathSign(t, b, "bundle") // keyed and keyless: Rekor v2, TSA, SCT, no insecure flag
	p, err := faultproxy.New("http://"+b.ReferrersRegistry(), faultproxy.Options{Rate: 0.05, Seed: 6, Faults: faultKinds})
	if err != nil {
		t.Fatal(err)
	}
	// The registry accepts the job's user with its password or job token.
	front := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != "gitlab-ci-token" || (pw != secretRegistryPassword && pw != secretJobToken) {
			w.Header().Set("WWW-Authenticate", `Basic realm="hallmark-secrets"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		p.ServeHTTP(w, r)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := l.Addr().String()
	go front.Serve(l) //nolint:errcheck // ends with Close
	defer front.Close()

	priv, pub := keyPair(t, secretKeyPassword)
	ctxDir, df := buildContext(t, b)
	out := t.TempDir()
	// The job's token certifies the job's own commit and job id: signing
	// refuses annotations the certificate disagrees with.
	const sha = "0123456789abcdef0123456789abcdef01234567"
	jobID := gitlabEnv(reg, sha)["CI_JOB_ID"]
	token := b.Token(t, "project_path=group/app&ref=main&sha="+sha+"&job_id="+jobID)
	expired := b.Token(t, "project_path=group/app&ref=main&sha="+sha+"&job_id="+jobID+"&ttl=-1m")
	tokenFile := filepath.Join(out, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{secretRegistryPassword, secretJobToken, secretWrongPassword, secretWrongJobToken,
		secretKeyPassword, secretWrongKeyPassword, secretMalformedToken}
	secrets = append(append(secrets, jwtParts(token)...), jwtParts(expired)...)

	job := func(overrides ...string) []string {
		env := gitlabEnv(reg, sha)
		env["CI_SERVER_URL"], env["CI_PROJECT_URL"] = b.Issuer(), b.Issuer()+"/group/app"
		env["CI_PIPELINE_URL"] = env["CI_PROJECT_URL"] + "/-/pipelines/" + env["CI_PIPELINE_ID"]
		env["CI_JOB_URL"] = env["CI_PROJECT_URL"] + "/-/jobs/" + env["CI_JOB_ID"]
		env["CI_REGISTRY_IMAGE"] = uniqueRepo(t, reg)
		env["CI_REGISTRY_USER"], env["CI_REGISTRY_PASSWORD"], env["CI_JOB_TOKEN"] = "gitlab-ci-token", secretRegistryPassword, secretJobToken
		env["SIGSTORE_ID_TOKEN"], env["COSIGN_PASSWORD"] = token, secretKeyPassword
		env["DOCKER_CONFIG"] = t.TempDir()
		for _, o := range overrides {
			k, v, _ := strings.Cut(o, "=")
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return envList(env)
	}
	image := func(env []string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "CI_REGISTRY_IMAGE="); ok {
				return v
			}
		}
		return ""
	}
	build := []string{"--addr", b.BuildkitUnix(), "--insecure-registry", reg, "-f", df, "--progress", "plain"}
	keylessVerify := append([]string{"--certificate-identity", b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main",
		"--certificate-oidc-issuer", b.Issuer()}, trust...)

	// A pushed image to sign and verify, by the job itself.
	seedEnv := job()
	seed := hallmark(t, seedEnv, append(append([]string{"--debug", "build"}, build...), "--tag", image(seedEnv)+":seed", ctxDir)...)
	mustSucceed(t, seed)
	ref := strings.TrimSpace(seed.Stdout)

	type run struct {
		name  string
		env   []string
		args  []string
		fails bool
		files []string
	}
	meta, dotenv := filepath.Join(out, "meta.json"), filepath.Join(out, "release.env")
	buildMeta := filepath.Join(out, "build.json")
	runs := []run{
		{name: "build", env: job(), args: append(append([]string{"build", "--metadata-file", buildMeta}, build...), "--tag", image(job())+":b", ctxDir), files: []string{buildMeta}},
		{name: "build with the job token only", env: job("CI_REGISTRY_PASSWORD="), args: append(append([]string{"build"}, build...), "--tag", image(job())+":jt", ctxDir)},
		{name: "sign keyless", env: job(), args: append(append([]string{"sign", "--insecure-registry", reg}, sign...), ref)},
		{name: "sign keyless, token file", env: job("SIGSTORE_ID_TOKEN="), args: append(append([]string{"sign", "--insecure-registry", reg, "--identity-token-file", tokenFile}, sign...), ref)},
		{name: "sign keyed", env: job(), args: append(append([]string{"sign", "--insecure-registry", reg, "--key", priv}, sign...), ref)},
		{name: "verify keyless", env: job(), args: append(append([]string{"verify", "--insecure-registry", reg}, keylessVerify...), ref)},
		{name: "verify keyed", env: job(), args: append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...), ref)},
		{name: "release keyless", env: job(), args: append(append([]string{"release", "--context", ctxDir, "--dotenv", dotenv, "--metadata-file", meta}, build...), sign...), files: []string{dotenv, meta}},
		{name: "release keyed", env: job(), args: append(append([]string{"release", "--context", ctxDir, "--dotenv", dotenv + ".keyed"}, build...),
			append([]string{"--key", priv}, sign...)...), files: []string{dotenv + ".keyed"}},
		{name: "annotations", env: job(), args: []string{"annotations"}},
		{name: "doctor keyless", env: job(), args: append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(), "--insecure-registry", reg}, sign...)},
		{name: "doctor keyed", env: job(), args: append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--key", priv}, sign...)},
		// Failing paths.
		{name: "build, wrong registry password", fails: true, env: job("CI_REGISTRY_PASSWORD=" + secretWrongPassword), args: append(append([]string{"build"}, build...), "--tag", image(job())+":x", ctxDir)},
		{name: "release, wrong job token", fails: true, env: job("CI_REGISTRY_PASSWORD=", "CI_JOB_TOKEN="+secretWrongJobToken), args: append(append([]string{"release", "--context", ctxDir}, build...),
			append([]string{"--key", priv}, sign...)...)},
		{name: "sign, wrong key password", fails: true, env: job("COSIGN_PASSWORD=" + secretWrongKeyPassword), args: append(append([]string{"sign", "--insecure-registry", reg, "--key", priv}, sign...), ref)},
		{name: "sign, expired token", fails: true, env: job("SIGSTORE_ID_TOKEN=" + expired), args: append(append([]string{"sign", "--insecure-registry", reg}, sign...), ref)},
		{name: "sign, malformed token flag", fails: true, env: job(), args: append(append([]string{"sign", "--insecure-registry", reg, "--identity-token", secretMalformedToken}, sign...), ref)},
		{name: "release, Fulcio down", fails: true, env: job(), args: append(append(append([]string{"release", "--context", ctxDir}, build...), sign...),
			"--fulcio-url", "http://"+testutil.ClosedAddr(t))},
		{name: "verify, another identity", fails: true, env: job(), args: append(append([]string{"verify", "--insecure-registry", reg}, trust...),
			"--certificate-identity", "https://gitlab.example.com/x//.gitlab-ci.yml@refs/heads/main", "--certificate-oidc-issuer", b.Issuer(), ref)},
		{name: "doctor, expired token and wrong key password", fails: true, env: job("SIGSTORE_ID_TOKEN="+expired, "COSIGN_PASSWORD="+secretWrongKeyPassword),
			args: append([]string{"doctor", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--key", priv}, sign...)},
		{name: "verify, registry failing every request", fails: true, env: job(), args: append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...), ref)},
	}
	checked := 0
	for _, r := range runs {
		if r.name == "verify, registry failing every request" {
			p.SetRate(1)
		}
		res := hallmark(t, r.env, append([]string{"--debug"}, r.args...)...)
		switch {
		case r.fails && res.Code == 0:
			t.Errorf("%s: succeeded, want a failure", r.name)
		case !r.fails && res.Code != 0 && !strings.HasPrefix(r.name, "doctor"):
			t.Errorf("%s: failed:\n%s", r.name, res)
		}
		texts := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr}
		for _, f := range r.files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Errorf("%s: %v", r.name, err)
			}
			texts[filepath.Base(f)] = string(b)
		}
		for where, text := range texts {
			if s := containsAny(text, secrets...); s != "" {
				t.Errorf("%s: a secret (%s…) appears in %s", r.name, s[:min(8, len(s))], where)
			}
		}
		checked += len(texts)
		t.Logf("%s: exit %d", r.name, res.Code)
	}
	t.Logf("%d runs with --debug, %d outputs and files checked for %d secret values; %d registry faults injected in %d requests",
		len(runs), checked, len(secrets), p.Faults(), len(p.Requests()))
}

// jwtParts returns the token and its payload and signature segments (the
// header is the same in every token).
func jwtParts(tok string) []string {
	parts := strings.Split(tok, ".")
	out := []string{tok}
	if len(parts) == 3 {
		out = append(out, parts[1], parts[2])
	}
	return slices.DeleteFunc(out, func(s string) bool { return len(s) < 16 })
}
