// Package verifier checks cosign v2 signatures of a container image digest
// against a policy: a public key, or a keyless identity (certificate
// subject and OIDC issuer, exact or regular expressions), plus annotations
// that must all be present in the signed payload.
//
// It finds signatures in every layout cosign v2 writes — the legacy
// "sha256-<hex>.sig" tag, OCI 1.1 referrers listed by the referrers API,
// and referrers listed in the "sha256-<hex>" fallback index — and checks
// all of them; verification passes when any one satisfies the policy. When
// none does, the error ([*NoMatchError]) says for each signature which
// check failed. The cryptographic checks are cosign's
// (cosign.VerifyImageSignature with cosign.SimpleClaimVerifier), so the
// payload's digest and annotations are always checked, signed timestamps
// are honoured and transparency-log and SCT checks are skipped only when
// asked for explicitly.
//
// [Result.JSON] renders the verified signatures as `cosign verify` prints
// them. The package never prints and logs only through Options.Logger.
package verifier
