package e2e

import (
	"slices"
	"testing"
)

// The default path on the bed: what GitLab.com users run against Sigstore's
// public-good instance, with the bed's own instance (Fulcio issuing
// certificates with an SCT from the bed's CT log, Rekor v2, the TSA, and the
// trusted root of the whole instance). No insecure flag.
//
// Simple-signing signatures (--new-bundle-format=false: the legacy .sig tag,
// oci-1-1, both) cannot take that path here: their transparency-log proof
// is a Rekor v1 "bundle" annotation whose signed entry timestamp (SET)
// cosign checks (cosign v2.6.5 pkg/cosign/verify.go VerifyBundle →
// tlog.VerifySET), and Rekor v2 gives an inclusion proof and a checkpoint,
// no SET and no integrated time; hallmark therefore logs simple signatures
// in Rekor v1 only (signer.Options.RekorVersion), and the bed runs no Rekor
// v1 (hack/README.md). They keep the SCT check on and stay TSA-only for the
// log: --tlog-upload=false with --insecure-ignore-tlog, and nothing else.

// defaultPathSign are the flags to sign keyed (key != "") or keyless on the
// default path in storage mode: a bundle is logged in the bed's Rekor v2
// with a TSA timestamp; a simple signature gets the TSA timestamp and no
// log entry (see above). trust verifies with every check on that the
// format allows: SCT, tlog (bundles), timestamp. Bundles go to the bed's
// Rekor v2, which serves its checkpoint and tiles at its URL as
// public-good's logs do, so that release's checks verify its checkpoint;
// the trusted root is the instance's.
func defaultPathSign(t *testing.T, b testbed, mode string) (sign, trust []string) {
	t.Helper()
	b.RequireTransparency()
	trustedRoot, rekorURL := b.SigstoreTrustedRoot(), b.RekorURL()
	sign = []string{"--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"), "--trusted-root", trustedRoot,
		"--fulcio-url", b.Getenv("HALLMARK_TEST_FULCIO_URL")}
	trust = []string{"--trusted-root", trustedRoot}
	if mode == "bundle" {
		sign = append(sign, "--rekor-url", rekorURL, "--rekor-version", "2")
		return sign, trust
	}
	// Simple signing: no Rekor v1 on the bed, and Rekor v2 entries cannot
	// be carried by a simple signature (see the file comment).
	return append(sign, "--tlog-upload=false"), append(trust, "--insecure-ignore-tlog")
}

// airGapped are the flags of the one explicit air-gapped setup kept on
// purpose (GitLab Self-Managed without a transparency log): TSA only, no
// log, and both insecure flags named, with the bed's Fulcio + TSA trusted
// root that lists no log at all.
func airGapped(b testbed) (sign, trust []string) {
	return b.Sigstore()
}

// TestReleaseAirGapped is the one air-gapped release kept on purpose: GitLab
// Self-Managed users without a transparency log or CT log sign keyless
// with a TSA timestamp only, naming both insecure flags on each side. The
// signature verifies with the same flags, and without them it is refused
// for want of a log entry: the default path does check the log.
func TestReleaseAirGapped(t *testing.T) {
	b := bed(t)
	sign, trust := airGapped(b)
	for _, f := range []string{"--tlog-upload=false", "--insecure-skip-verify"} {
		if !slices.Contains(sign, f) {
			t.Fatalf("the air-gapped signing flags %q must name %s", sign, f)
		}
	}
	for _, f := range []string{"--insecure-ignore-tlog", "--insecure-ignore-sct"} {
		if !slices.Contains(trust, f) {
			t.Fatalf("the air-gapped trust flags %q must name %s", trust, f)
		}
	}
	reg := b.ReferrersRegistry()
	ctxDir, df := buildContext(t, b)
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	r := hallmark(t, envList(env), append(append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg,
		"--context", ctxDir, "-f", df, "--progress", "quiet"}, sign...), trust[2:]...)...)
	mustSucceed(t, r)
	rel := parseRelease(t, r)
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	verify := []string{"verify", "--insecure-registry", reg, "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}
	mustSucceed(t, hallmark(t, nil, append(append(verify, trust...), rel.Image)...))
	cosignVerify(t, b, "bundle", reg, rel.Image, identity, "tag="+env["CI_COMMIT_SHORT_SHA"], trust)

	_, full := defaultPathSign(t, b, "bundle")
	v := hallmark(t, nil, append(append(verify, full...), rel.Image)...)
	assertOneLineError(t, v, exitVerify, "tlog")
	t.Logf("the air-gapped signature with every check on: %s", lastLine(v.Stderr))
}
