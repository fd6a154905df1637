package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// sbomScanner is the bed's BuildKit SBOM generator image
// (hack/tools/sbom-scanner, pushed by hack/testbed.sh). A bed started by
// an older hack/testbed.sh has none: skipped, failed under CI.
func sbomScanner(t *testing.T) string {
	t.Helper()
	s := os.Getenv("HALLMARK_TEST_SBOM_SCANNER")
	if s == "" {
		msg := "test bed without the SBOM generator image (HALLMARK_TEST_SBOM_SCANNER unset): run `eval \"$(hack/testbed.sh up)\"` from this checkout"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s
}

// sbomContext is a build context whose image holds busybox and a dpkg
// database listing one package, probe at version: what the generator
// must find in the image.
func sbomContext(t *testing.T, b testbed, probe, version string) (contextDir, dockerfile string) {
	t.Helper()
	dir := t.TempDir()
	e2etest.CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
	status := fmt.Sprintf("Package: %s\nStatus: install ok installed\nPriority: optional\nSection: misc\n"+
		"Installed-Size: 1\nMaintainer: hallmark tests <tests@hallmark.invalid>\nArchitecture: amd64\nVersion: %s\n"+
		"Description: a package the SBOM must list\n", probe, version)
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM scratch\nCOPY busybox /bin/busybox\nCOPY status /var/lib/dpkg/status\n"+
		`RUN ["/bin/busybox", "sh", "-c", "echo sbom > /greeting"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, df
}

type sbomRelease struct {
	Image string `json:"image"`
	SBOM  []struct {
		Platform            string `json:"platform"`
		Manifest            string `json:"manifest"`
		AttestationManifest string `json:"attestationManifest"`
		Attestation         string `json:"attestation"`
		Packages            int    `json:"packages"`
	} `json:"sbom"`
	Signatures []struct {
		Digest string `json:"digest"`
	} `json:"signatures"`
}

// TestReleaseSBOM: release --sbom in a GitLab job, with the bed's
// generator, on both registries: BuildKit's SPDX document of each platform
// is attested (bundle), cosign v3 verify-attestation --type spdxjson
// accepts it for the job's identity and prints the package the image
// holds, BuildKit's attestation manifest is signed like the image, and
// another identity is refused.
func TestReleaseSBOM(t *testing.T) {
	b := bed(t)
	scanner := sbomScanner(t)
	sign, _ := b.Sigstore()
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		t.Run(strings.ReplaceAll(reg, ":", "_"), func(t *testing.T) {
			t.Parallel()
			probe, version := "hallmark-sbom-probe", fmt.Sprintf("1.%d", time.Now().UnixNano())
			ctxDir, df := sbomContext(t, b, probe, version)
			env, _ := keylessGitLabEnv(t, b, reg, nil)
			args := append([]string{"release", "--sbom", "--sbom-generator", scanner, "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
				"--context", ctxDir, "-f", df, "--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
			r := hallmark(t, envList(env), args...)
			mustSucceed(t, r)
			e2etest.CheckSchema(t, "release.schema.json", []byte(r.Stdout))
			var rel sbomRelease
			if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
				t.Fatalf("%v: %s", err, r.Stdout)
			}
			if len(rel.SBOM) != 1 || rel.SBOM[0].Attestation == "" || rel.SBOM[0].Packages < 1 {
				t.Fatalf("want one platform's signed SBOM listing packages: %s", r.Stdout)
			}
			s := rel.SBOM[0]
			if !signed(rel, s.AttestationManifest) {
				t.Errorf("the attestation manifest %s is not among the signatures: %s", s.AttestationManifest, r.Stdout)
			}
			repo := rel.Image[:strings.LastIndex(rel.Image, "@")]
			identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
			verify := func(identity string) result {
				return runCosign3(t, b, "verify-attestation", "--type", "spdxjson", "--allow-insecure-registry", "--allow-http-registry",
					"--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), "--insecure-ignore-tlog", "--insecure-ignore-sct",
					"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), repo+"@"+s.Manifest)
			}
			r = verify(identity)
			if r.Code != 0 {
				t.Fatalf("cosign verify-attestation --type spdxjson rejects the SBOM of %s: %s", s.Platform, r)
			}
			predicate := attestedPredicate(t, r.Stdout)
			for _, want := range []string{`"spdxVersion":"SPDX-`, `"name":"` + probe + `"`, `"versionInfo":"` + version + `"`} {
				if !strings.Contains(predicate, want) {
					t.Errorf("the attested SPDX document lacks %s: %.2000s", want, predicate)
				}
			}
			if r := verify(env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/other"); r.Code == 0 {
				t.Errorf("cosign verify-attestation accepts the SBOM for another identity: %s", r)
			}
			_, trust := b.Sigstore()
			mustSucceed(t, hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", reg,
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...), repo+"@"+s.AttestationManifest)...))
		})
	}
}

// TestReleaseSBOMGeneratorMissing: a generator image BuildKit cannot pull
// fails the build (exit 3) and pushes nothing.
func TestReleaseSBOMGeneratorMissing(t *testing.T) {
	b := bed(t)
	sign, _ := b.Sigstore()
	reg := b.PlainRegistry()
	ctxDir, df := sbomContext(t, b, "probe", "1")
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	missing := reg + "/hallmark/no-such-sbom-generator:1"
	args := append([]string{"release", "--sbom", "--sbom-generator", missing, "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
		"--context", ctxDir, "-f", df, "--progress", "quiet", "--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
	r := hallmark(t, envList(env), args...)
	assertOneLineError(t, r, exitBuild, "no-such-sbom-generator")
	assertNotPushed(t, env["CI_REGISTRY_IMAGE"]+":"+env["CI_COMMIT_SHORT_SHA"])
}

func signed(rel sbomRelease, digest string) bool {
	for _, s := range rel.Signatures {
		if s.Digest == digest {
			return true
		}
	}
	return false
}
