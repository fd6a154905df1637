// Package layout is hallmark's one home for how cosign-compatible
// signatures are laid out in an OCI registry: the tags (cosign's legacy
// "sha256-<hex>.sig" tag and the referrers tag-schema "sha256-<hex>"
// fallback index), the artifact and media types of signature referrers
// (cosign v2's simple-signing referrer and cosign v3's Sigstore bundle),
// the annotations cosign puts on them, the storage modes and the places a
// signature can be found, and the listing of an image's referrers through
// the referrers API and the fallback index.
//
// Two signature formats are laid out ([Format]). cosign v2's
// simple-signing signatures live in the legacy tag or in OCI 1.1
// referrers of artifactType [SimpleSigningArtifactType] ([Mode]). cosign
// v3's Sigstore bundles (bundle v0.3, [BundleMediaType]) hold a DSSE
// envelope of an in-toto statement ([SignStatement] for a signature) and
// live in OCI 1.1 referrers shaped by [BundleManifest]: artifactType
// [BundleMediaType], the OCI empty config ([EmptyDescriptor]), one layer
// (the bundle), the image as subject, and [BundleAnnotations]; in the
// fallback index their descriptors ([ReferrerDescriptor]) carry the
// artifactType and those annotations, as cosign#4641 needs.
// [MayBeSignatureBundle] picks a signer's candidates from a listing.
//
// The signer and the verifier both use it, so that no layout string is
// spelled twice.
package layout
