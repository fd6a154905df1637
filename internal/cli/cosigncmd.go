package cli

import (
	"maps"
	"slices"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/verifier"
)

// cosignEquivalent is the `cosign verify` command line that checks what
// hallmark verify accepted, ready to paste: the same policy (key, or
// identity and issuer, exact or regexp, and the GitHub workflow
// constraints), every -a as --annotations, the
// trust flags hallmark was given, --insecure-ignore-tlog/-sct only when
// hallmark skipped those checks, --use-signed-timestamps when the matching
// signature carries a timestamp authority's timestamp, and
// --allow-http-registry for a registry reached over plain HTTP.
//
// The line is cosign v3's: for a matching bundle (cosign v3's format) or a
// legacy .sig signature on a digest without bundles, no experimental flag.
// A matching simple-signing referrer needs cosign's deprecated
// --experimental-oci11, which checks only the newest referrer: note says
// so. When only simple signatures matched and the digest also carries
// bundles that do not, cosign reads the bundles alone and no line checks
// the same: line is empty and note says why.
type cosignEquivalent struct {
	line, note string
}

// equivalentCosign builds the command for res, verified with p and t;
// httpRegistry is whether the image's registry is reached over plain HTTP.
func equivalentCosign(res *verifier.Result, p verifier.Policy, t verifier.Trust, httpRegistry bool) cosignEquivalent {
	match, bundlesPresent := pickMatch(res)
	var out cosignEquivalent
	args := []string{"cosign", "verify"}
	switch {
	case match.Format == verifier.FormatBundle:
	case bundlesPresent:
		out.note = "no cosign verify line checks the same: the digest also carries Sigstore bundles that do not satisfy the policy, " +
			"and cosign reads only the bundles when there are any"
		return out
	case match.Layout != verifier.LayoutLegacy:
		args = append(args, "--experimental-oci11")
		out.note = "cosign v3 reads simple-signing referrers only with its deprecated --experimental-oci11, and then checks only the newest"
	}
	if p.Key != "" {
		args = append(args, "--key", p.Key)
	}
	for _, f := range [][2]string{{"--certificate-identity", p.Identity}, {"--certificate-identity-regexp", p.IdentityRegexp},
		{"--certificate-oidc-issuer", p.Issuer}, {"--certificate-oidc-issuer-regexp", p.IssuerRegexp}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	w := p.GitHubWorkflow
	for _, f := range [][2]string{{"trigger", w.Trigger}, {"sha", w.SHA}, {"name", w.Name}, {"repository", w.Repository}, {"ref", w.Ref}} {
		if f[1] != "" {
			args = append(args, "--certificate-github-workflow-"+f[0], f[1])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Annotations)) {
		args = append(args, "--annotations", k+"="+p.Annotations[k])
	}
	args = append(args, trustArgs(t)...)
	if signedTimestamp(match) {
		args = append(args, "--use-signed-timestamps")
	}
	if httpRegistry {
		args = append(args, "--allow-http-registry")
	}
	out.line = ci.ShellJoin(append(args, res.Digest.String()))
	return out
}

// pickMatch returns the verified signature cosign's line should find: a
// bundle when one matched, else the legacy .sig one, else a referrer; and
// whether the digest carries bundles at all.
func pickMatch(res *verifier.Result) (verifier.Verified, bool) {
	rank := func(v verifier.Verified) int {
		switch {
		case v.Format == verifier.FormatBundle:
			return 0
		case v.Layout == verifier.LayoutLegacy:
			return 1
		}
		return 2
	}
	best := slices.MinFunc(res.Verified, func(a, b verifier.Verified) int { return rank(a) - rank(b) })
	bundles := best.Format == verifier.FormatBundle
	for _, f := range res.Failures {
		bundles = bundles || verifier.FormatOf(f.Layout) == verifier.FormatBundle
	}
	return best, bundles
}

// trustArgs are cosign's flags for the trust material hallmark verified
// with (same names and meaning).
func trustArgs(t verifier.Trust) []string {
	var out []string
	for _, f := range [][2]string{{"--trusted-root", t.TrustedRoot}, {"--ca-roots", t.CARoots},
		{"--ca-intermediates", t.CAIntermediates}, {"--timestamp-certificate-chain", t.TimestampCertChain}, {"--rekor-url", t.RekorURL}} {
		if f[1] != "" {
			out = append(out, f[0], f[1])
		}
	}
	if t.IgnoreTlog {
		out = append(out, "--insecure-ignore-tlog")
	}
	if t.IgnoreSCT {
		out = append(out, "--insecure-ignore-sct")
	}
	return out
}

// signedTimestamp reports whether v carries an RFC 3161 timestamp. cosign
// 2.6.5 uses it only with --use-signed-timestamps: without, it wants a
// simple signature's time from Rekor, and a bundle's Rekor v2 entry has no
// integrated time.
func signedTimestamp(v verifier.Verified) bool {
	if v.Format == verifier.FormatBundle {
		return v.Bundle != nil && v.Bundle.Bundle != nil &&
			len(v.Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) > 0
	}
	if v.Signature == nil {
		return false
	}
	ts, err := v.Signature.RFC3161Timestamp()
	return err == nil && ts != nil
}
