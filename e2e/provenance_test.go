package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// provenanceRelease is release's JSON with the provenance it signed.
type provenanceRelease struct {
	Image      string `json:"image"`
	Provenance []struct {
		Platform            string `json:"platform"`
		Manifest            string `json:"manifest"`
		AttestationManifest string `json:"attestationManifest"`
		Attestation         string `json:"attestation"`
	} `json:"provenance"`
}

// TestReleaseProvenance runs a keyless GitLab job with --provenance on
// both registries: BuildKit records the job as builder and its commit, the
// release signs each platform's provenance, and cosign v3.1.3's
// verify-attestation --type slsaprovenance1 accepts it with the job's
// identity, finding BuildKit's fields in the predicate.
func TestReleaseProvenance(t *testing.T) {
	b := bed(t)
	sign, _ := b.Sigstore()
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		t.Run(strings.ReplaceAll(reg, ":", "_"), func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			env, _ := keylessGitLabEnv(t, b, reg, nil)
			args := append([]string{"release", "--provenance", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
				"--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
			r := hallmark(t, envList(env), args...)
			mustSucceed(t, r)
			e2etest.CheckSchema(t, "release.schema.json", []byte(r.Stdout))
			var rel provenanceRelease
			if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
				t.Fatalf("%v: %s", err, r.Stdout)
			}
			if len(rel.Provenance) != 1 || rel.Provenance[0].Attestation == "" {
				t.Fatalf("want one platform's signed provenance: %s", r.Stdout)
			}
			repo := rel.Image[:strings.LastIndex(rel.Image, "@")]
			p := rel.Provenance[0]
			identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
			r = runCosign3(t, b, "verify-attestation", "--type", "slsaprovenance1", "--allow-insecure-registry", "--allow-http-registry",
				"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), repo+"@"+p.Manifest)
			if r.Code != 0 {
				t.Fatalf("cosign verify-attestation rejects the provenance of %s: %s", p.Platform, r)
			}
			predicate := attestedPredicate(t, r.Stdout)
			for _, want := range []string{`"id":"` + env["CI_JOB_URL"] + `"`, `"revision":"` + env["CI_COMMIT_SHA"] + `"`,
				`"source":"` + env["CI_PROJECT_URL"] + `"`, `"buildkit_metadata"`} {
				if !strings.Contains(predicate, want) {
					t.Errorf("the attested predicate lacks %s: %s", want, predicate)
				}
			}
			policyCheck(t, b, identity, repo+"@"+p.Manifest, env)
			_, trust := b.Sigstore()
			r = hallmark(t, nil, append(append([]string{"verify", "--provenance", "--insecure-registry", reg,
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...), rel.Image)...)
			mustSucceed(t, r)
			for _, want := range []string{"provenance of " + p.Platform, "revision " + env["CI_COMMIT_SHA"], "builder " + env["CI_JOB_URL"], "trigger push"} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("verify --provenance does not say %q:\n%s", want, r.Stderr)
				}
			}
			// BuildKit's attestation manifest is signed like the image.
			mustSucceed(t, hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", reg,
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...), repo+"@"+p.AttestationManifest)...))
		})
	}
}

// attestedPredicate is the predicate of the first attestation cosign
// verify-attestation printed (one JSON DSSE envelope per line).
func attestedPredicate(t *testing.T, out string) string {
	t.Helper()
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	var env struct {
		Payload []byte `json:"payload"`
	}
	if err := json.Unmarshal([]byte(line), &env); err != nil {
		t.Fatalf("cosign verify-attestation printed %q: %v", out, err)
	}
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		t.Fatalf("the attestation's payload: %v", err)
	}
	return string(st.Predicate)
}

// TestReleaseProvenanceGate: a job whose CI_COMMIT_SHA disagrees with its
// certificate pushes and signs nothing with --provenance, even with the
// CI annotations (which the certificate would refuse) turned off: the
// revision BuildKit would record is checked against the certificate
// before the push.
func TestReleaseProvenanceGate(t *testing.T) {
	b := bed(t)
	sign, _ := b.Sigstore()
	reg := b.PlainRegistry()
	ctxDir, df := buildContext(t, b)
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	certified := env["CI_COMMIT_SHA"]
	env["CI_COMMIT_SHA"] = spoofedSHA
	args := append([]string{"release", "--provenance", "--no-ci-annotations", "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
		"--context", ctxDir, "-f", df, "--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
	r := hallmark(t, envList(env), args...)
	assertOneLineError(t, r, exitSign, "VCS revision", spoofedSHA, certified, "nothing signed")
	assertNotPushed(t, env["CI_REGISTRY_IMAGE"]+":"+env["CI_COMMIT_SHORT_SHA"])
}

// policyCheck runs cosign v3 verify-attestation with the CUE and Rego
// policies of examples/provenance, filled in with the job's values (they
// accept) and with another revision (they refuse).
func policyCheck(t *testing.T, b testbed, identity, ref string, env map[string]string) {
	t.Helper()
	for _, file := range []string{"policy.cue", "policy.rego"} {
		tmpl, err := os.ReadFile(filepath.Join("..", "examples", "provenance", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, revision := range []string{env["CI_COMMIT_SHA"], spoofedSHA} {
			policy := strings.NewReplacer("${BUILDER_ID}", env["CI_JOB_URL"], "${SOURCE}", env["CI_PROJECT_URL"], "${REVISION}", revision).Replace(string(tmpl))
			path := filepath.Join(t.TempDir(), file)
			if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runCosign3(t, b, "verify-attestation", "--type", "slsaprovenance1", "--policy", path, "--allow-insecure-registry", "--allow-http-registry",
				"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), ref)
			if ok, want := r.Code == 0, revision == env["CI_COMMIT_SHA"]; ok != want {
				t.Errorf("cosign verify-attestation --policy %s with revision %s: ok=%v, want %v\n%s", file, revision, ok, want, r)
			}
		}
	}
}
