// Package doctor checks, before a release, everything a release needs:
// buildkitd (reachable, its version, which address), the image's registry
// (reachable, push access with the credentials found and where they came
// from, the OCI 1.1 referrers API), the signing material (a key that loads,
// or an OIDC identity token: audience, expiry, the identity it will
// produce), and the Sigstore services (Fulcio, a timestamp authority).
//
// [Run] runs the independent checks concurrently, each with a short
// timeout, and returns a [Report]: one [Check] per concern with a status,
// a one-line detail, and a hint when something needs fixing. The report
// never contains a secret: not the identity token, not a registry password,
// not a key password.
//
// The package does not print; the CLI renders the report.
package doctor
