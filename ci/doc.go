// Package ci is the one place hallmark reads CI environment variables.
//
// [Detect] takes a getenv function (os.Getenv in main, a map look-up in
// tests), recognises the provider — GitLab CI (GITLAB_CI=true), GitHub
// Actions (GITHUB_ACTIONS=true) or a generic environment — and snapshots the
// variables hallmark uses into an [Env]. From an Env callers get:
//
//   - the build-provenance annotations attached to signatures
//     ([Env.Annotations], [Env.ResolveAnnotations]); outside CI the
//     org.opencontainers.image.source/revision pair comes from the git
//     checkout ([ReadCheckout]);
//   - defaults for `hallmark release`: image, tag and registry credentials
//     ([Env.DefaultImage], [Env.DefaultTag], [Env.Credentials]);
//   - the signing identity a verifier should expect ([Env.Policy]);
//   - whether an OIDC token for keyless signing is available ([Env.OIDC]),
//     never the token itself.
//
// Empty values are never emitted: an annotation whose value (or any part of
// a composed value, such as the GitHub run URL) is empty or unset is left
// out rather than written as "key=". Secrets (registry passwords, job tokens)
// are held only in [Credential.Password]; Credential and Env format, log and
// marshal to JSON without them.
//
// The package does not import urfave/cli and does no I/O except reading the
// .git directory in [ReadCheckout].
package ci
