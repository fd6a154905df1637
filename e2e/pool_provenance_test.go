package e2e

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPoolReleaseProvenance releases 4 platforms across the bed's three
// buildkitd with --provenance, keyless in a GitLab job, and expects what
// a one-node multi-platform release does: each node's BuildKit records the
// job (builder id, source, revision) for its platforms; the merged index
// keeps each platform's attestation manifest, pushed to the image's
// repository by its node and annotated with its platform manifest; every
// attestation manifest is signed and every platform's provenance attested.
// hallmark verify --provenance on the tag shows the 4 platforms, cosign
// v3.1.3 verify-attestation --type slsaprovenance1 accepts each, and the
// JSON names the node that built each provenance. A job whose
// CI_COMMIT_SHA its certificate does not certify signs and tags nothing.
func TestPoolReleaseProvenance(t *testing.T) {
	b := bed(t)
	t.Run("consistent", func(t *testing.T) {
		t.Parallel()
		reg := b.PlainRegistry()
		env, _ := keylessGitLabEnv(t, b, reg, nil)
		r := poolProvenanceRun(t, b, reg, env, "prov")
		mustSucceed(t, r)
		rel := parsePoolRelease(t, r)
		t.Logf("%s: nodes %v", rel.Image, rel.nodeOf())
		checkPoolProvenanceJSON(t, rel)
		checkMergedAttestations(t, rel)
		checkPoolProvenanceVerifies(t, b, reg, env, rel)
	})
	t.Run("gate", func(t *testing.T) {
		t.Parallel()
		reg := b.PlainRegistry()
		env, _ := keylessGitLabEnv(t, b, reg, nil)
		certified := env["CI_COMMIT_SHA"]
		env["CI_COMMIT_SHA"] = spoofedSHA
		r := poolProvenanceRun(t, b, reg, env, "prov", "--no-ci-annotations")
		assertOneLineError(t, r, exitSign, "VCS revision", spoofedSHA, certified, "nothing signed")
		repo := env["CI_REGISTRY_IMAGE"]
		assertNotPushed(t, repo+":prov")
		if s := signatureTags(t, repo); len(s) > 0 {
			t.Errorf("the refused pool release signed: %v", s)
		}
	})
}

// poolProvenanceRun runs a keyless 4-platform release with --provenance
// on the bed's pool in the job env, tagged tag.
func poolProvenanceRun(t *testing.T, b testbed, reg string, env map[string]string, tag string, extra ...string) result {
	t.Helper()
	sign, _ := b.Sigstore()
	ctxDir, df := buildContext(t, b)
	args := append([]string{"release", "--provenance", "--builders", bedBuilders(t, b), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
		"--platform", strings.Join(poolPlatforms, ","), "--tag", tag, "--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, extra...)
	return hallmark(t, envList(env), append(args, sign...)...)
}

// checkPoolProvenanceJSON: one signed provenance per platform, about the
// platform's manifest, naming the node that built it (as nodes does); the
// index, each platform and each attestation manifest signed.
func checkPoolProvenanceJSON(t *testing.T, rel poolRelease) {
	t.Helper()
	manifests := map[string]string{}
	for _, p := range rel.Platforms {
		manifests[p.Platform] = p.Digest
	}
	nodes := rel.nodeOf()
	got := map[string]string{}
	want := []string{rel.Digest}
	for _, p := range rel.Provenance {
		got[p.Platform] = p.Node
		if p.Manifest != manifests[p.Platform] || p.Attestation == "" || p.AttestationManifest == "" {
			t.Errorf("provenance of %s: manifest %s (want %s), attestation %q, attestation manifest %q",
				p.Platform, p.Manifest, manifests[p.Platform], p.Attestation, p.AttestationManifest)
		}
		want = append(want, p.AttestationManifest)
	}
	if !maps.Equal(got, nodes) || len(got) != len(poolPlatforms) {
		t.Errorf("provenance built by %v, want each of the %d platforms on its node %v", got, len(poolPlatforms), nodes)
	}
	for _, p := range rel.Platforms {
		want = append(want, p.Digest)
	}
	var signed []string
	for _, s := range rel.Signatures {
		signed = append(signed, s.Digest)
	}
	if !slices.Equal(slices.Sorted(slices.Values(signed)), slices.Sorted(slices.Values(want))) {
		t.Errorf("signed %v, want the index, each platform and each attestation manifest %v", signed, want)
	}
}

// checkMergedAttestations reads the released tag: the merged index lists
// each platform's attestation manifest, annotated with the digest of its
// platform manifest, and the repository holds it (its node pushed it
// there).
func checkMergedAttestations(t *testing.T, rel poolRelease) {
	t.Helper()
	ref, err := name.ParseReference(rel.Tags[0], name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, plainOptions(t.Context())...)
	if err != nil {
		t.Fatalf("reading the tag %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	about := map[string]string{} // attestation manifest → platform manifest
	for _, m := range im.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			about[m.Digest.String()] = m.Annotations["vnd.docker.reference.digest"]
		}
	}
	if len(about) != len(poolPlatforms) {
		t.Errorf("the index lists %d attestation manifests, want %d: %+v", len(about), len(poolPlatforms), im.Manifests)
	}
	for _, p := range rel.Provenance {
		if about[p.AttestationManifest] != p.Manifest {
			t.Errorf("%s: the index's attestation manifest %s is about %q, want %s", p.Platform, p.AttestationManifest, about[p.AttestationManifest], p.Manifest)
		}
		d := ref.Context().Digest(p.AttestationManifest)
		if _, err := remote.Head(d, plainOptions(t.Context())...); err != nil {
			t.Errorf("%s: the attestation manifest is not in the repository: %v", p.Platform, err)
		}
	}
}

// checkPoolProvenanceVerifies: hallmark verify --provenance on the tag
// shows every platform with the job's revision and builder; cosign v3's
// verify-attestation --type slsaprovenance1 accepts each platform's, with
// BuildKit's fields kept; each attestation manifest's signature verifies.
func checkPoolProvenanceVerifies(t *testing.T, b testbed, reg string, env map[string]string, rel poolRelease) {
	t.Helper()
	_, trust := b.Sigstore()
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	verify := append([]string{"verify", "--insecure-registry", reg, "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
	r := hallmark(t, nil, append(append(verify, "--provenance"), rel.Tags[0])...)
	mustSucceed(t, r)
	for _, p := range poolPlatforms {
		line := lineWith(r.Stderr, "provenance of "+p+" ")
		for _, want := range []string{"revision " + env["CI_COMMIT_SHA"], "builder " + env["CI_JOB_URL"], "source " + env["CI_PROJECT_URL"]} {
			if !strings.Contains(line, want) {
				t.Errorf("verify --provenance on %s: %s's line %q lacks %q\n%s", rel.Tags[0], p, line, want, r.Stderr)
			}
		}
	}
	repo := env["CI_REGISTRY_IMAGE"]
	for _, p := range rel.Provenance {
		r := runCosign3(t, b, "verify-attestation", "--type", "slsaprovenance1", "--allow-insecure-registry", "--allow-http-registry",
			"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
			"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), repo+"@"+p.Manifest)
		if r.Code != 0 {
			t.Errorf("cosign verify-attestation rejects the provenance of %s (built on %s): %s", p.Platform, p.Node, r)
			continue
		}
		predicate := attestedPredicate(t, r.Stdout)
		for _, want := range []string{`"id":"` + env["CI_JOB_URL"] + `"`, `"revision":"` + env["CI_COMMIT_SHA"] + `"`, `"buildkit_metadata"`} {
			if !strings.Contains(predicate, want) {
				t.Errorf("%s's attested predicate lacks %s", p.Platform, want)
			}
		}
		mustSucceed(t, hallmark(t, nil, append(verify, repo+"@"+p.AttestationManifest)...))
	}
}

// lineWith is the first line of s containing sub, "" when none does.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
