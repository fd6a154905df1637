package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// provenanceRelease is release's JSON with the provenance it signed.
type provenanceRelease struct {
	Image     string   `json:"image"`
	Digest    string   `json:"digest"`
	Tags      []string `json:"tags"`
	Platforms []struct {
		Platform string `json:"platform"`
		Digest   string `json:"digest"`
	} `json:"platforms"`
	Signatures []struct {
		Digest string `json:"digest"`
	} `json:"signatures"`
	Provenance []struct {
		Platform            string `json:"platform"`
		Manifest            string `json:"manifest"`
		AttestationManifest string `json:"attestationManifest"`
		Attestation         string `json:"attestation"`
	} `json:"provenance"`
}

// TestReleaseProvenance runs a keyless GitLab job on both registries,
// with release's default (no flag), with an explicit --provenance and with
// --no-ci-annotations:
// BuildKit records the job as builder and its commit, the release signs
// the index it pushed and tagged, each platform manifest and attestation
// manifest, and attests each platform's provenance; cosign v3.1.3's verify
// of the tag and verify-attestation --type slsaprovenance1 accept them with
// the job's identity, finding BuildKit's fields in the predicate, and so
// does hallmark verify --provenance of the tag.
func TestReleaseProvenance(t *testing.T) {
	b := bed(t)
	sign, trust := b.Sigstore()
	for _, tc := range []struct {
		name  string
		flags []string
		regs  []string
	}{
		{"default", nil, []string{b.PlainRegistry(), b.ReferrersRegistry()}},
		{"explicit", []string{"--provenance"}, []string{b.PlainRegistry()}},
		// The provenance's job context does not come from the annotations.
		{"no-ci-annotations", []string{"--no-ci-annotations"}, []string{b.ReferrersRegistry()}},
	} {
		for _, reg := range tc.regs {
			t.Run(tc.name+"/"+strings.ReplaceAll(reg, ":", "_"), func(t *testing.T) {
				t.Parallel()
				ctxDir, df := buildContext(t, b)
				env, _ := keylessGitLabEnv(t, b, reg, nil)
				dotenvFile := filepath.Join(t.TempDir(), "release.env")
				args := append(append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
					"--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct", "--dotenv", dotenvFile}, tc.flags...), sign...)
				r := hallmark(t, envList(env), args...)
				mustSucceed(t, r)
				rel := checkProvenanceRelease(t, r, dotenvFile)
				repo := rel.Image[:strings.LastIndex(rel.Image, "@")]
				p := rel.Provenance[0]
				identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
				cosignTrust := []string{"--allow-insecure-registry", "--allow-http-registry", "--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"),
					"--insecure-ignore-tlog", "--insecure-ignore-sct", "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}
				r = runCosign3(t, b, append(append([]string{"verify-attestation", "--type", "slsaprovenance1"}, cosignTrust...), repo+"@"+p.Manifest)...)
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
				// The tutorial's check of the tag: it names the signed index.
				if r := runCosign3(t, b, append(append([]string{"verify"}, cosignTrust...), rel.Tags[0])...); r.Code != 0 {
					t.Errorf("cosign verify rejects the tag %s: %s", rel.Tags[0], r)
				}
				if tc.name == "default" && reg == b.PlainRegistry() {
					policyCheck(t, b, identity, repo+"@"+p.Manifest, env)
				}
				r = hallmark(t, nil, append(append([]string{"verify", "--provenance", "--insecure-registry", reg,
					"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...), rel.Tags[0])...)
				mustSucceed(t, r)
				for _, want := range []string{"provenance of " + p.Platform, "revision " + env["CI_COMMIT_SHA"], "builder " + env["CI_JOB_URL"], "trigger push"} {
					if !strings.Contains(r.Stderr, want) {
						t.Errorf("verify --provenance does not say %q:\n%s", want, r.Stderr)
					}
				}
				// BuildKit's attestation manifest and the platform manifest
				// are signed like the index.
				for _, d := range []string{p.AttestationManifest, p.Manifest} {
					mustSucceed(t, hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", reg,
						"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...), repo+"@"+d)...))
				}
			})
		}
	}
}

// TestReleaseProvenanceKeyed: a keyed release in a GitLab job (the key
// certifies nothing: the gate compares the provenance with the job's
// variables) attests the provenance by default, on both registries;
// hallmark verify --provenance and cosign v3's verify-attestation accept
// it with the public key.
func TestReleaseProvenanceKeyed(t *testing.T) {
	b := bed(t)
	const password = "prov-key-7c1d"
	priv, pub := keyPair(t, password)
	sign, trust := defaultPathSign(t, b, "bundle")
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		t.Run(strings.ReplaceAll(reg, ":", "_"), func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			env := gitlabEnv(reg, "0123456789abcdef0123456789abcdef01234567")
			env["CI_REGISTRY_IMAGE"], env["COSIGN_PASSWORD"] = uniqueRepo(t, reg), password
			dotenvFile := filepath.Join(t.TempDir(), "release.env")
			r := hallmark(t, envList(env), append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
				"--context", ctxDir, "-f", df, "--progress", "quiet", "--key", priv, "--dotenv", dotenvFile}, append(sign, trust[2:]...)...)...)
			mustSucceed(t, r)
			rel := checkProvenanceRelease(t, r, dotenvFile)
			p := rel.Provenance[0]
			repo := rel.Image[:strings.LastIndex(rel.Image, "@")]
			r = hallmark(t, nil, append([]string{"verify", "--provenance", "--insecure-registry", reg, "--key", pub}, append(trust, rel.Tags[0])...)...)
			mustSucceed(t, r)
			for _, want := range []string{"provenance of " + p.Platform, "revision " + env["CI_COMMIT_SHA"], "builder " + env["CI_JOB_URL"]} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("verify --provenance does not say %q:\n%s", want, r.Stderr)
				}
			}
			r = runCosign3(t, b, "verify-attestation", "--type", "slsaprovenance1", "--key", pub, "--allow-insecure-registry", "--allow-http-registry",
				"--trusted-root", b.SigstoreTrustedRoot(), repo+"@"+p.Manifest)
			if r.Code != 0 {
				t.Fatalf("cosign verify-attestation --key rejects the provenance: %s", r)
			}
		})
	}
}

// checkProvenanceRelease checks a release with provenance of one platform:
// its JSON (schema, one signed provenance), the digests signed (the index,
// the platform manifest, the attestation manifest) and its dotenv
// (IMAGE_DIGEST: the index pushed and tagged).
func checkProvenanceRelease(t *testing.T, r result, dotenvFile string) provenanceRelease {
	t.Helper()
	e2etest.CheckSchema(t, "release.schema.json", []byte(r.Stdout))
	var rel provenanceRelease
	if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	if len(rel.Provenance) != 1 || rel.Provenance[0].Attestation == "" || len(rel.Platforms) != 1 ||
		rel.Platforms[0].Digest != rel.Provenance[0].Manifest {
		t.Fatalf("want one platform's signed provenance: %s", r.Stdout)
	}
	p := rel.Provenance[0]
	var signed []string
	for _, s := range rel.Signatures {
		signed = append(signed, s.Digest)
	}
	if want := []string{rel.Digest, p.Manifest, p.AttestationManifest}; !slices.Equal(signed, want) {
		t.Errorf("signed %v, want the index, the platform manifest and the attestation manifest %v", signed, want)
	}
	for _, tag := range rel.Tags {
		if got := tagDigest(t, tag); got != rel.Digest {
			t.Errorf("tag %s names %s, want the index %s", tag, got, rel.Digest)
		}
	}
	env, err := os.ReadFile(dotenvFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "IMAGE_DIGEST=" + rel.Image + "\n"; !strings.Contains(string(env), want) {
		t.Errorf("dotenv %q lacks %q", env, want)
	}
	return rel
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

// TestReleaseProvenanceOff: --provenance=false, or HALLMARK_PROVENANCE=false,
// turns release's default off: a single-platform image is pushed, signed
// and tagged as one image manifest, with no provenance.
func TestReleaseProvenanceOff(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "pw")
	reg := b.PlainRegistry()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"--provenance=false"}},
		{"environment", []string{"HALLMARK_PROVENANCE=false"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, df := buildContext(t, b)
			r := hallmark(t, append([]string{"COSIGN_PASSWORD=pw"}, tc.env...), append([]string{"release", "--addr", b.BuildkitUnix(),
				"--insecure-registry", reg, "--context", ctxDir, "-f", df, "--image", uniqueRepo(t, reg), "--tag", "v1", "--progress", "quiet",
				"--key", priv, "--tlog-upload=false", "--insecure-ignore-tlog"}, tc.args...)...)
			mustSucceed(t, r)
			rel := parseRelease(t, r)
			if len(rel.Provenance) != 0 || len(rel.Platforms) != 0 || !slices.Equal(rel.signedDigests(), []string{rel.Digest}) {
				t.Fatalf("provenance %v, platforms %v, signed %v: want one image manifest signed", rel.Provenance, rel.Platforms, rel.signedDigests())
			}
			ref, err := name.NewTag(rel.Tags[0], name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(ref, plainOptions(t.Context())...)
			if err != nil {
				t.Fatal(err)
			}
			if desc.MediaType.IsIndex() || desc.Digest.String() != rel.Digest {
				t.Errorf("tag %s names %s (%s), want the image manifest %s", rel.Tags[0], desc.Digest, desc.MediaType, rel.Digest)
			}
		})
	}
}
