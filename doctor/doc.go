// Package doctor checks, before a release, everything a release needs:
// buildkitd (reachable, its version, which address), the image's registry
// (reachable, push access with the credentials found and where they came
// from, the OCI 1.1 referrers API), the signing material (a key that loads,
// or an OIDC identity token: audience, expiry, the identity it will
// produce), and the Sigstore services end to end: where the trusted root
// and the signing config come from (files, or a TUF repository with its
// metadata versions, resolved as the signer and verifier resolve them),
// the OIDC issuer's discovery document (the exact issuer URL), Fulcio's
// configuration (it lists the issuer), the CT log key in the trusted root
// when certificates must carry an SCT, Rekor (it answers with the API
// version configured, its key is in the trusted root; a Rekor v2's
// checkpoint is signed by that key), the timestamp authority (it issues an
// RFC 3161 timestamp, at any path, that verifies against the trusted root;
// one is required with Rekor v2), and the coherence of the insecure
// options (no upload to a log verification then ignores, or the reverse).
//
// [Sigstore] runs the Sigstore checks alone; release runs them before it
// builds. They read the service URLs from [Services], filled from the
// signer's options by [ServicesOf] or, later, from a signing config.
//
// [Run] runs the independent checks concurrently, each with a short
// timeout, and returns a [Report]: one [Check] per concern with a status,
// a one-line detail, and a hint when something needs fixing. The report
// never contains a secret: not the identity token, not a registry password,
// not a key password.
//
// The package does not print; the CLI renders the report.
package doctor
