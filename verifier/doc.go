// Package verifier checks the signatures of a container image digest
// against a policy: a public key, or a keyless identity (certificate
// subject and OIDC issuer, exact or regular expressions), plus annotations
// that must all be present in what was signed.
//
// # Formats and where they are found
//
// It reads both formats cosign writes, in every place it writes them:
//
//   - cosign v2's simple-signing signatures ([FormatSimpleSigning]): in the
//     legacy "sha256-<hex>.sig" tag ([LayoutLegacy]), and as OCI 1.1
//     referrers listed by the referrers API ([LayoutReferrers]) or in the
//     "sha256-<hex>" fallback index ([LayoutFallback]);
//   - cosign v3's Sigstore bundles v0.3 ([FormatBundle]), each a referrer
//     with one bundle layer, listed by the referrers API
//     ([LayoutBundleReferrers]) or in the fallback index
//     ([LayoutBundleFallback]); a referrer listed with the empty config
//     type and no annotations (cosign 2.6.5's fallback index) is read to
//     tell whether it is one. A bundle is a signature only when its DSSE
//     envelope holds an in-toto statement of predicate type
//     https://sigstore.dev/cosign/sign/v1 (what `cosign sign` v3 writes);
//     bundles of other predicate types (attestations: provenance, SBOMs)
//     are skipped, logged at debug level and not counted.
//
// Options.Layouts limits the search to some of these places.
//
// # No hiding
//
// Every signature found is checked and verification passes when any one
// satisfies the policy. Unlike cosign v3, which looks only at bundles as
// soon as one exists on a digest, a bundle never hides a simple-signing
// signature, nor the other way round. When none satisfies the policy, the
// error ([*NoMatchError]) says for each signature which check failed
// ([CheckError]); a referrer that cannot be read (a bundle referrer's
// manifest and bundle are read up to 4 MiB each) is that signature's
// failure ([CheckRead]), not the verification's. A layout whose listing
// cannot be read (the .sig manifest, the referrers API's listing, the
// fallback index) is a warning in [Result.Unreadable], and the other
// layouts' signatures decide; only when none verifies is it part of the
// error.
//
// # Checks
//
// Simple-signing signatures are verified by cosign
// (cosign.VerifyImageSignature with cosign.SimpleClaimVerifier), so the
// payload's digest and annotations are always checked. Bundles are
// verified by sigstore-go: the certificate chain to a trusted Fulcio CA,
// the certificate's SCTs, RFC 3161 timestamps, transparency-log entries
// (Rekor v1 and v2, with inclusion proofs), the signature, the identity,
// and the statement's subject digest; the subject's annotations are
// checked against Policy.Annotations. For both, signed timestamps from a
// trusted timestamp authority are honoured (a keyless signature stays
// valid after its short-lived certificate expired), and the
// transparency-log and SCT checks are skipped only when asked for
// explicitly (Trust.IgnoreTlog, Trust.IgnoreSCT). The trust material is
// loaded once, in [New].
//
// [Result.JSON] renders the verified signatures as `cosign verify` prints
// them: simple-signing ones as cosign v2 does, bundles as cosign v3 does.
// The package never prints and logs only through Options.Logger.
package verifier
