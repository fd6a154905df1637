// Package release is hallmark's pipeline: build and push an image on
// buildkitd, sign the pushed digest with cosign, and verify the signature,
// overlapping what can overlap:
//
//   - the signer is prepared (the key decrypted, or the keyless certificate
//     requested from Fulcio) and the verifier loaded while the build runs;
//     builder.Request.BeforeExport waits for them, so an image that cannot
//     be signed or verified is never pushed — nor one whose annotations
//     the signing certificate disagrees with (signer.Options.CheckAnnotations);
//   - each digest's verification starts as soon as its signature is stored,
//     alongside the signer's read-backs.
//
// Run returns errors tagged with the Stage that failed (*Error); callers
// map stages to exit codes. The package never prints: stage boundaries and
// per-digest outcomes go to an Observer.
package release
