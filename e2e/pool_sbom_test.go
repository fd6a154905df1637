package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// poolPairPlatforms are the platforms of the 2-node pool tests: linux/amd64
// on the bed's buildkitd or buildkitd-pool, linux/arm64 on buildkitd-pool.
var poolPairPlatforms = []string{"linux/amd64", "linux/arm64"}

// TestPoolReleaseSBOM: a keyless 2-platform release with --sbom (the bed's
// generator) on the bed's buildkitd and buildkitd-pool, on both
// registries, with provenance (the default) and without. Each platform has
// its signed SBOM, listing the image's package; with provenance, its
// provenance too, both in the platform's one BuildKit attestation
// manifest, signed once. hallmark verify (--provenance) accepts the tag
// and each attestation manifest; cosign v3.1.3 verify-attestation --type
// spdxjson (and slsaprovenance1) accepts each platform's manifest, the
// SPDX document listing the package.
func TestPoolReleaseSBOM(t *testing.T) {
	b := bed(t)
	scanner := sbomScanner(t)
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		for _, provenance := range []bool{true, false} {
			name := strings.ReplaceAll(reg, ":", "_") + map[bool]string{true: "/provenance", false: "/no-provenance"}[provenance]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				poolSBOMRelease(t, b, scanner, reg, provenance)
			})
		}
	}
}

// poolSBOMRelease is one release of TestPoolReleaseSBOM and its checks.
func poolSBOMRelease(t *testing.T, b testbed, scanner, reg string, provenance bool) {
	t.Helper()
	sign, trust := b.Sigstore()
	probe, version := "hallmark-pool-sbom-probe", fmt.Sprintf("1.%d", time.Now().UnixNano())
	ctxDir, df := sbomContext(t, b, probe, version)
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	args := append([]string{"release", "--sbom", "--sbom-generator", scanner, "--addr", b.BuildkitUnix(), "--addr", b.Getenv("HALLMARK_TEST_BUILDKIT_POOL"),
		"--insecure-registry", reg, "--context", ctxDir, "-f", df, "--platform", strings.Join(poolPairPlatforms, ","), "--tag", "v1",
		"--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct", fmt.Sprintf("--provenance=%t", provenance)}, sign...)
	r := hallmark(t, envList(env), args...)
	mustSucceed(t, r)
	rel := parsePoolRelease(t, r)
	var sb sbomRelease
	if err := json.Unmarshal([]byte(r.Stdout), &sb); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: nodes %v", rel.Image, rel.nodeOf())
	checkPoolSBOMJSON(t, rel, sb, provenance)

	repo := env["CI_REGISTRY_IMAGE"]
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	verify := append([]string{"verify", "--insecure-registry", reg, "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
	types := []string{"spdxjson"}
	if provenance {
		mustSucceed(t, hallmark(t, nil, append(append(verify, "--provenance"), rel.Tags[0])...))
		types = append(types, "slsaprovenance1")
	} else {
		mustSucceed(t, hallmark(t, nil, append(verify, rel.Tags[0])...))
	}
	for _, s := range sb.SBOM {
		mustSucceed(t, hallmark(t, nil, append(verify, repo+"@"+s.AttestationManifest)...))
		for _, typ := range types {
			r := runCosign3(t, b, "verify-attestation", "--type", typ, "--allow-insecure-registry", "--allow-http-registry",
				"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), repo+"@"+s.Manifest)
			if r.Code != 0 {
				t.Errorf("cosign v3 verify-attestation --type %s rejects %s's manifest: %s", typ, s.Platform, r)
				continue
			}
			if typ != "spdxjson" {
				continue
			}
			predicate := attestedPredicate(t, r.Stdout)
			for _, want := range []string{`"spdxVersion":"SPDX-`, `"name":"` + probe + `"`, `"versionInfo":"` + version + `"`} {
				if !strings.Contains(predicate, want) {
					t.Errorf("%s's attested SPDX document lacks %s", s.Platform, want)
				}
			}
		}
	}
}

// checkPoolSBOMJSON: one signed SBOM per platform, about its manifest,
// listing packages; with provenance, each platform's provenance attested,
// in the same attestation manifest as its SBOM; everything signed once:
// the index, each platform, each attestation manifest.
func checkPoolSBOMJSON(t *testing.T, rel poolRelease, sb sbomRelease, provenance bool) {
	t.Helper()
	manifests := map[string]string{}
	for _, p := range rel.Platforms {
		manifests[p.Platform] = p.Digest
	}
	if provenance != (len(rel.Provenance) == len(poolPairPlatforms)) {
		t.Errorf("%d platforms' provenance, want each platform's with provenance (%v)", len(rel.Provenance), provenance)
	}
	provs := map[string]string{} // platform → its attestation manifest
	for _, p := range rel.Provenance {
		if p.Attestation == "" {
			t.Errorf("%s's provenance is not attested", p.Platform)
		}
		provs[p.Platform] = p.AttestationManifest
	}
	var platforms []string
	want := []string{rel.Digest}
	for _, s := range sb.SBOM {
		platforms = append(platforms, s.Platform)
		if s.Manifest != manifests[s.Platform] || s.Attestation == "" || s.Packages < 1 {
			t.Errorf("SBOM of %s: manifest %s (want %s), attestation %q, %d packages", s.Platform, s.Manifest, manifests[s.Platform], s.Attestation, s.Packages)
		}
		if provenance && s.AttestationManifest != provs[s.Platform] {
			t.Errorf("SBOM of %s in attestation manifest %s, its provenance in %s: want one", s.Platform, s.AttestationManifest, provs[s.Platform])
		}
		want = append(want, s.Manifest, s.AttestationManifest)
	}
	if !slices.Equal(slices.Sorted(slices.Values(platforms)), poolPairPlatforms) {
		t.Errorf("SBOMs of %v, want one of each of %v", platforms, poolPairPlatforms)
	}
	signed := rel.signedDigests()
	if !slices.Equal(slices.Sorted(slices.Values(signed)), slices.Sorted(slices.Values(want))) {
		t.Errorf("signed %v, want the index, each platform and each attestation manifest once %v", signed, want)
	}
}
