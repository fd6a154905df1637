// Package signer signs container image digests with cosign v2 "simple
// signing" signatures, keyless (an OIDC identity token exchanged at Fulcio
// for a short-lived certificate) or with a key (a cosign.key file, env://
// or a KMS URI), and stores them in the registry next to the image.
//
// Signatures carry their annotations in the signed payload's "optional"
// field, exactly as `cosign sign -a k=v` writes them, so `cosign verify -a`
// checks them. They are stored in one or both layouts cosign v2 knows
// (see [Mode]): the legacy "sha256-<hex>.sig" tag, or an OCI 1.1 referrer
// whose subject is the image (with the referrers tag-schema fallback index
// kept up to date on registries without the referrers API).
//
// Signing is idempotent: when a signature by the same signer with the same
// annotations is already stored, nothing is added and [Result.Added] is
// empty. Concurrent signers of one digest do not lose each other's
// signatures as far as plain registries allow (they have no conditional
// manifest writes): each read-modify-write of a shared manifest (the .sig
// image, the fallback index) checks with a HEAD right before its PUT that
// the tag still points at what it read, and starts over if not; after
// the write it reads back twice, a settle delay apart, and writes again
// when another writer's update removed the signature.
//
// The package never prompts, never prints, and logs only through the
// *slog.Logger in [Options]. Secrets (the identity token, the key password)
// never appear in errors or logs.
package signer
