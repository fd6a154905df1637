// Package layout is hallmark's one home for how cosign-compatible
// signatures are laid out in an OCI registry: the tags (cosign's legacy
// "sha256-<hex>.sig" tag and the referrers tag-schema "sha256-<hex>"
// fallback index), the artifact and media types of signature referrers
// (cosign v2's simple-signing referrer and cosign v3's Sigstore bundle),
// the annotations cosign puts on them, the storage modes and the places a
// signature can be found, and the listing of an image's referrers through
// the referrers API and the fallback index.
//
// The signer and the verifier both use it, so that no layout string is
// spelled twice.
package layout
