package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const exitSign, exitVerify = 4, 5

// releaseJSON is what hallmark release prints.
type releaseJSON struct {
	Image, Digest string
	Tags          []string
	Platforms     []struct{ Platform, Digest string }
	Signatures    []struct {
		Digest, Mode string
		Formats      []string
		Annotations  map[string]string
	}
	Verified   struct{ Identity, Issuer, Key, KeySHA256 string }
	Provenance []struct{ Platform, Manifest, AttestationManifest, Attestation string }
}

// signedDigests are the digests a release signed, in order.
func (rel releaseJSON) signedDigests() []string {
	var out []string
	for _, s := range rel.Signatures {
		out = append(out, s.Digest)
	}
	return out
}

// wantSigned are the digests a release signs: the pushed one, then with
// provenance (or --recursive) each platform manifest, then with provenance
// each attestation manifest.
func (rel releaseJSON) wantSigned(recursive bool) []string {
	out := []string{rel.Digest}
	if recursive || len(rel.Provenance) > 0 {
		for _, p := range rel.Platforms {
			out = append(out, p.Digest)
		}
	}
	for _, p := range rel.Provenance {
		out = append(out, p.AttestationManifest)
	}
	return out
}

func parseRelease(t *testing.T, r result) releaseJSON {
	t.Helper()
	var rel releaseJSON
	if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
		t.Fatalf("release stdout is not its JSON: %v\n%s", err, r)
	}
	return rel
}

// TestReleaseKeyedGitLab runs the whole job with a key in a GitLab-like
// environment, in every storage mode on both registries, on the bed's
// default path (bundles logged in Rekor v2 and verified against it; see
// defaultPathSign for simple signatures), and checks the outputs, the 11
// provenance annotations, and that hallmark verify with the public key and
// the instance's trusted root accepts the result.
func TestReleaseKeyedGitLab(t *testing.T) {
	b := bed(t)
	const password = "key-pass-5b2e"
	priv, pub := keyPair(t, password)
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, mode := range []string{"bundle", "legacy", "oci-1-1", "both"} {
			t.Run(reg+"/"+mode, func(t *testing.T) {
				t.Parallel()
				ctxDir, df := buildContext(t, b)
				env := gitlabEnv(reg, "0123456789abcdef0123456789abcdef01234567")
				repo := uniqueRepo(t, reg)
				env["CI_REGISTRY_IMAGE"] = repo
				env["COSIGN_PASSWORD"] = password
				out := t.TempDir()
				dotenvFile, meta := filepath.Join(out, "release.env"), filepath.Join(out, "meta.json")
				sign, trust := defaultPathSign(t, b, mode)
				r := hallmark(t, envList(env), append(append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
					"--context", ctxDir, "-f", df, "--progress", "plain", "--key", priv,
					"--dotenv", dotenvFile, "--metadata-file", meta}, storageArgs(mode)...), append(sign, trust[2:]...)...)...)
				mustSucceed(t, r)
				rel := parseRelease(t, r)
				wantTag := repo + ":" + env["CI_COMMIT_SHORT_SHA"]
				if len(rel.Tags) != 1 || rel.Tags[0] != wantTag || rel.Image != repo+"@"+rel.Digest {
					t.Errorf("image %s tags %v, want %s@DIGEST and [%s]", rel.Image, rel.Tags, repo, wantTag)
				}
				wantMode, wantFormats := mode, []string{"simple-signing"}
				if mode == "bundle" {
					wantMode, wantFormats = "", []string{"bundle"}
				}
				// Bundles carry the provenance by default: the index, the
				// platform manifest and the attestation manifest are signed.
				if want := rel.wantSigned(false); !slices.Equal(rel.signedDigests(), want) || (mode == "bundle") != (len(rel.Provenance) == 1) {
					t.Fatalf("signed %v with %d provenances, want %v", rel.signedDigests(), len(rel.Provenance), want)
				}
				for _, s := range rel.Signatures {
					if s.Mode != wantMode || !slices.Equal(s.Formats, wantFormats) {
						t.Errorf("signature of %s in mode %q, formats %v, want %q, %v", s.Digest, s.Mode, s.Formats, wantMode, wantFormats)
					}
					if want := gitlabAnnotations(env, env["CI_COMMIT_SHORT_SHA"]); !maps.Equal(s.Annotations, want) {
						t.Errorf("annotations of %s\n got %v\nwant %v", s.Digest, s.Annotations, want)
					}
				}
				if rel.Verified.Key != priv || !strings.HasPrefix(rel.Verified.KeySHA256, "sha256:") {
					t.Errorf("verified %+v, want the signer's key", rel.Verified)
				}
				dotenv, err := os.ReadFile(dotenvFile)
				if err != nil {
					t.Fatal(err)
				}
				wantDotenv := "IMAGE_DIGEST=" + rel.Image + "\nIMAGE_DIGEST_BARE=" + rel.Digest + "\nIMAGE_URI=" + wantTag + "\nIMAGE_REF=" + rel.Image + "\n"
				if string(dotenv) != wantDotenv {
					t.Errorf("dotenv\n got %q\nwant %q", dotenv, wantDotenv)
				}
				var md releaseJSON
				readJSON(t, meta, &md)
				if md.Digest != rel.Digest || len(md.Signatures) != len(rel.Signatures) {
					t.Errorf("metadata file %+v disagrees with stdout", md)
				}
				for _, s := range []string{"section_start:", "hallmark_build", "hallmark_sign", "hallmark_verify", "section_end:"} {
					if !strings.Contains(r.Stderr, s) {
						t.Errorf("stderr lacks GitLab section marker %q", s)
					}
				}
				if sec := containsAny(r.Stdout+r.Stderr, password); sec != "" {
					t.Errorf("the key password appears in the output")
				}

				v := hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", reg, "--key", pub}, trust...),
					"-a", "tag="+env["CI_COMMIT_SHORT_SHA"], "-a", "com.gitlab.ci.pipeline.id=4242", rel.Image)...)
				mustSucceed(t, v)
				var sigs []map[string]any
				if err := json.Unmarshal([]byte(v.Stdout), &sigs); err != nil || len(sigs) == 0 {
					t.Fatalf("verify stdout is not a non-empty JSON array: %v\n%s", err, v)
				}
			})
		}
	}
}

// TestReleaseGitHubOutputs checks the GitHub Actions outputs and groups.
func TestReleaseGitHubOutputs(t *testing.T) {
	b := bed(t)
	t.Parallel()
	priv, _ := keyPair(t, "pw")
	ctxDir, df := buildContext(t, b)
	dir := t.TempDir()
	output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md")
	repo := uniqueRepo(t, b.ReferrersRegistry())
	env := []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=octo/app", "GITHUB_SHA=fedcba9876543210fedcba9876543210fedcba98",
		"GITHUB_SERVER_URL=https://github.com", "GITHUB_RUN_ID=77", "GITHUB_ACTOR=octocat", "GITHUB_REF=refs/heads/main",
		"GITHUB_OUTPUT=" + output, "GITHUB_STEP_SUMMARY=" + summary, "COSIGN_PASSWORD=pw"}
	sign, _ := defaultPathSign(t, b, "bundle")
	r := hallmark(t, env, append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", b.ReferrersRegistry(),
		"--context", ctxDir, "-f", df, "--image", repo, "--key", priv}, sign...)...)
	mustSucceed(t, r)
	rel := parseRelease(t, r)
	if rel.Tags[0] != repo+":fedcba98" {
		t.Errorf("tag %s, want the short GITHUB_SHA", rel.Tags[0])
	}
	out, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"digest=" + rel.Digest + "\n", "image-ref=" + rel.Image + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, out)
		}
	}
	if s, err := os.ReadFile(summary); err != nil || !strings.Contains(string(s), rel.Image) {
		t.Errorf("GITHUB_STEP_SUMMARY lacks the image (%v):\n%s", err, s)
	}
	if !strings.Contains(r.Stderr, "::group::") || !strings.Contains(r.Stderr, "::endgroup::") {
		t.Errorf("stderr lacks ::group:: blocks")
	}
	want := map[string]string{"com.github.actions.actor": "octocat", "com.github.actions.run.id": "77",
		"org.opencontainers.image.source": "https://github.com/octo/app", "tag": "fedcba98"}
	for k, v := range want {
		if rel.Signatures[0].Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, rel.Signatures[0].Annotations[k], v)
		}
	}
}

// TestReleaseRecursive signs and verifies a two-platform index and each
// platform manifest.
func TestReleaseRecursive(t *testing.T) {
	b := bed(t)
	t.Parallel()
	priv, pub := keyPair(t, "pw")
	ctxDir, df := buildContext(t, b)
	repo := uniqueRepo(t, b.PlainRegistry())
	sign, trust := defaultPathSign(t, b, "bundle")
	r := hallmark(t, []string{"COSIGN_PASSWORD=pw"}, append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", b.PlainRegistry(),
		"--context", ctxDir, "-f", df, "--image", repo, "--tag", "multi", "--platform", "linux/amd64,linux/386", "--recursive",
		"--key", priv}, sign...)...)
	mustSucceed(t, r)
	rel := parseRelease(t, r)
	// Signed in parallel, reported in order: the index, then each
	// platform, then each attestation manifest (provenance by default).
	if len(rel.Platforms) != 2 || len(rel.Provenance) != 2 || !slices.Equal(rel.signedDigests(), rel.wantSigned(true)) {
		t.Fatalf("platforms %v, %d provenances, signed %v, want 2 platforms and %v", rel.Platforms, len(rel.Provenance), rel.signedDigests(), rel.wantSigned(true))
	}
	if rel.Signatures[1].Digest != rel.Platforms[0].Digest || rel.Signatures[2].Digest != rel.Platforms[1].Digest {
		t.Errorf("signatures %v: the platforms are not signed after the index, in order", rel.signedDigests())
	}
	for _, p := range rel.Platforms {
		v := hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", b.PlainRegistry(), "--key", pub}, trust...),
			repo+"@"+p.Digest)...)
		mustSucceed(t, v)
	}
}

// TestReleaseBadInput checks the one-line errors and stage exit codes.
func TestReleaseBadInput(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "pw")
	ctxDir, df := buildContext(t, b)
	reg := b.PlainRegistry()
	repo := uniqueRepo(t, reg)
	sign, _ := defaultPathSign(t, b, "bundle")
	common := slices.Clip(append([]string{"release", "--progress", "quiet", "--insecure-registry", reg, "-f", df}, sign...)) // appended to in parallel
	tests := []struct {
		name      string
		env       []string
		args      []string
		code      int
		fragments []string
	}{
		{"no image and no CI", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir, "--key", priv, "--tag", "v1"}, exitUsage, []string{"no image", "--image"}},
		{"no tag and no CI", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir, "--key", priv, "--image", repo}, exitUsage, []string{"no tag"}},
		{"no token and no key", nil, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir, "--image", repo, "--tag", "v1"}, exitUsage, []string{"no OIDC identity token", "--key"}},
		{"unreachable buildkitd", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", "unix:///nonexistent/buildkitd.sock", "--context", ctxDir, "--key", priv, "--image", repo, "--tag", "v1"}, exitBuild, []string{"cannot reach buildkitd"}},
		{"missing context", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", b.BuildkitUnix(), "--context", filepath.Join(ctxDir, "nope"), "--key", priv, "--image", repo, "--tag", "v1"}, exitUsage, []string{"build context"}},
		{"wrong key password", []string{"COSIGN_PASSWORD=wrong"}, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir, "--key", priv, "--image", repo, "--tag", "v1"}, exitUsage, []string{"password"}},
		{"provenance with simple signing", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir, "--key", priv, "--image", repo, "--tag", "v1",
			"--new-bundle-format=false", "--provenance"}, exitUsage, []string{"--provenance", "bundle attestation", "--new-bundle-format=false"}},
		{"provenance from the environment with simple signing", []string{"COSIGN_PASSWORD=pw", "HALLMARK_PROVENANCE=true"}, []string{"--addr", b.BuildkitUnix(), "--context", ctxDir,
			"--key", priv, "--image", repo, "--tag", "v1", "--new-bundle-format=false"}, exitUsage, []string{"--provenance", "bundle attestation"}},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := hallmark(t, tt.env, append(common, tt.args...)...)
				assertOneLineError(t, r, tt.code, tt.fragments...)
				if r.Stdout != "" {
					t.Errorf("stdout must be empty on failure, got %q", r.Stdout)
				}
			})
		}
	})
	// Each case fails before the push: nothing may have been pushed.
	assertNotPushed(t, repo+":v1")
}
