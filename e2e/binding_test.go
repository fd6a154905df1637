package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// spoofedSHA is a commit no bed certificate certifies.
const spoofedSHA = "ffffffffffffffffffffffffffffffffffffffff"

// TestSignRefusesUnboundAnnotations: a GitLab job whose CI_COMMIT_SHA
// disagrees with its ID token's sha (the certificate's Source Repository
// Digest) signs nothing — hallmark sign writes no signature, release
// pushes no image — and says which annotation, with both values.
func TestSignRefusesUnboundAnnotations(t *testing.T) {
	b := bed(t)
	sign, _ := b.Sigstore()
	reg := b.PlainRegistry()
	env, tok := keylessGitLabEnv(t, b, reg, nil)
	certified := env["CI_COMMIT_SHA"]
	env["CI_COMMIT_SHA"], env["CI_COMMIT_SHORT_SHA"] = spoofedSHA, spoofedSHA[:8]
	fragments := []string{"com.gitlab.ci.commit.sha", spoofedSHA, certified, "Source Repository Digest", "nothing signed"}

	t.Run("sign", func(t *testing.T) {
		t.Parallel()
		repo, digest := pushedImage(t, reg)
		args := append([]string{"sign", "--insecure-registry", reg}, sign...)
		for _, mode := range []string{"bundle", "legacy"} {
			r := hallmark(t, envList(env), append(append(args, storageArgs(mode)...), repo+"@"+digest)...)
			assertOneLineError(t, r, exitSign, fragments...)
			if containsAny(r.Stdout+r.Stderr, tok) != "" {
				t.Error("the OIDC token appears in the output")
			}
		}
		if tags := signatureTags(t, repo); len(tags) > 0 {
			t.Errorf("a refused sign wrote %v", tags)
		}
	})
	t.Run("release", func(t *testing.T) {
		t.Parallel()
		ctxDir, df := buildContext(t, b)
		args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
			"--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
		r := hallmark(t, envList(env), args...)
		assertOneLineError(t, r, exitSign, fragments...)
		assertNotPushed(t, env["CI_REGISTRY_IMAGE"]+":"+env["CI_COMMIT_SHORT_SHA"])
	})
}

// TestVerifyRejectsUnboundAnnotations: the cosign CLI signs whatever a job
// asserts. A keyless cosign v3 signature with a false
// com.gitlab.ci.commit.sha passes `cosign verify` (which only compares
// annotations with its -a), fails `hallmark verify` naming the annotation
// and both values, and passes with --allow-unbound-annotations, the JSON
// listing it as unbound.
func TestVerifyRejectsUnboundAnnotations(t *testing.T) {
	b := bed(t)
	_, trust := b.Sigstore()
	reg := b.ReferrersRegistry()
	repo, digest := pushedImage(t, reg)
	ref := repo + "@" + digest
	const certified = "0123456789abcdef0123456789abcdef01234567" // the bed token's sha
	tok := b.Token(t, "project_path=group/app&ref=main&sha="+certified)
	cosignArgs := []string{"--allow-insecure-registry", "--allow-http-registry", "--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT")}
	r := runCosign3(t, b, append([]string{"sign", "--yes", "--tlog-upload=false", "--use-signing-config=false",
		"--identity-token", tok, "--fulcio-url", b.Getenv("HALLMARK_TEST_FULCIO_URL"), "--insecure-skip-verify",
		"--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"),
		"-a", "com.gitlab.ci.commit.sha=" + spoofedSHA, "-a", "tag=v1", ref}, cosignArgs...)...)
	if r.Code != 0 {
		t.Fatalf("cosign sign: %s", r)
	}
	identity := b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
	policy := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}
	r = runCosign3(t, b, append(append([]string{"verify", "--insecure-ignore-tlog", "--insecure-ignore-sct", "-a", "com.gitlab.ci.commit.sha=" + spoofedSHA}, cosignArgs...), append(policy, ref)...)...)
	if r.Code != 0 {
		t.Fatalf("cosign verify rejects the false annotation; the test's premise is wrong: %s", r)
	}
	t.Logf("cosign verify accepts com.gitlab.ci.commit.sha=%s", spoofedSHA)

	verify := append(append([]string{"verify", "--insecure-registry", reg}, trust...), policy...)
	r = hallmark(t, nil, append(verify, ref)...)
	assertOneLineError(t, r, exitVerify, "binding", "com.gitlab.ci.commit.sha", spoofedSHA, certified, "Source Repository Digest", "--allow-unbound-annotations")
	t.Logf("hallmark verify: %s", strings.TrimSpace(r.Stderr))

	r = hallmark(t, nil, append(verify, "--allow-unbound-annotations", ref)...)
	mustSucceed(t, r)
	e2etest.CheckSchema(t, "verify.schema.json", []byte(r.Stdout))
	var out []struct {
		Hallmark struct {
			Annotations struct {
				Bound      map[string]string `json:"bound"`
				SignedOnly []string          `json:"signedOnly"`
				Unbound    []struct {
					Key, Value, Certified string
				} `json:"unbound"`
			} `json:"annotations"`
		} `json:"hallmark"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	a := out[0].Hallmark.Annotations
	if len(out) != 1 || len(a.Unbound) != 1 || a.Unbound[0].Key != "com.gitlab.ci.commit.sha" || a.Unbound[0].Certified != certified ||
		len(a.Bound) != 0 || strings.Join(a.SignedOnly, ",") != "tag" {
		t.Errorf("JSON does not report the unbound annotation: %s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "UNBOUND com.gitlab.ci.commit.sha") {
		t.Errorf("stderr does not warn of the unbound annotation: %s", r.Stderr)
	}
}
