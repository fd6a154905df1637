// Package signer signs container image digests, keyless (an OIDC identity
// token exchanged at Fulcio for a short-lived certificate) or with a key (a
// cosign.key file, env:// or a KMS URI), and stores the signatures in the
// registry next to the image, in one or both of cosign's formats.
//
// # Bundles (cosign v3's format)
//
// With [Options.Bundle] a signature is what `cosign sign` v3 writes by
// default: the in-toto statement layout.SignStatement — subject the
// signed manifest's or index's digest with every annotation, predicate
// type https://sigstore.dev/cosign/sign/v1, empty predicate — in a DSSE
// envelope (payload type application/vnd.in-toto+json), in a Sigstore
// bundle v0.3 made with sigstore-go's sign.Bundle. The bundle carries the
// Fulcio certificate (keyless; one certificate serves every digest a
// Signer signs) or the key's hint (base64 SHA-256 of the public key, as
// cosign v3), the RFC 3161 timestamp when a timestamp authority is set,
// and a Rekor v1 or v2 entry when uploading ([Options.RekorVersion]; Rekor
// v2 needs the timestamp). It is stored as an OCI 1.1 referrer manifest of
// the image shaped as cosign v3's (layout.BundleManifest): artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json, the OCI empty config,
// one layer (the bundle), the image as subject, and the annotations
// dev.sigstore.bundle.content=dsse-envelope,
// dev.sigstore.bundle.predicateType and org.opencontainers.image.created.
// On registries without the referrers API the "sha256-<hex>" fallback
// index lists it, its descriptor carrying artifactType and those
// annotations (layout.ReferrerDescriptor).
//
// # Simple signing (cosign v2's format)
//
// With [Options.Mode] (the default without Bundle) a signature is cosign
// v2's simple-signing payload with the annotations in its "optional" field,
// exactly as `cosign sign -a k=v` writes them, so `cosign verify -a`
// checks them. It is stored in one or both layouts cosign v2 knows (see
// [Mode]): the legacy "sha256-<hex>.sig" tag, or an OCI 1.1 referrer whose
// subject is the image (with the fallback index on registries without the
// referrers API). Bundle and Mode together write both formats in one Sign.
// [Result.Layouts] says, for each signature, its [Format], layout,
// location and reference.
//
// # Idempotence and concurrency
//
// Signing is idempotent: when a signature by the same signer (the same
// key, or a certificate for the same identity from the same CA) with the
// same annotations, and at least the timestamp and transparency-log
// evidence this signer would attach, is already stored, nothing is added
// and [Result.Added] is false; evidence counts only when it is about that
// signature (a timestamp stamping it, a log entry logging it). Identical
// Sign calls on one Signer running at once store one signature. A legacy
// signature tag holding layout.MaxSignatureLayers signatures, the most
// cosign reads, gets no more ([ErrSignatureTagFull]). Concurrent signers of one digest do not lose
// each other's signatures as far as plain registries allow (they have no
// conditional manifest writes): each read-modify-write of a shared
// manifest (the .sig image, the fallback index) checks with a HEAD right
// before its PUT that the tag still points at what it read, and starts
// over if not; after the write it reads back twice, a settle delay apart,
// and writes again when another writer's update removed the signature.
// With [WhenStored] a caller learns when the signature is in place, before
// those read-backs, and may read it meanwhile (a release verifies it).
// Equivalent signatures that signers in different processes wrote at once
// converge to one: in the .sig tag the first stays; of referrers (simple
// signing, bundles) the one with the lowest manifest digest stays, the
// others are unlisted and deleted (with the referrers API, by DELETE; a
// registry that refuses DELETE keeps them). A Written then names the one
// kept; a signer that finished before a lower equivalent was listed names
// its own, since removed.
//
// The package never prompts, never prints, and logs only through the
// *slog.Logger in [Options]. Secrets (the identity token, the key password)
// never appear in errors or logs.
package signer
