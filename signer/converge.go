package signer

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
)

// Identical signatures converge to one. Signers in different processes
// (concurrent releases of the same content, a re-run after a kill) that
// sign one digest with the same identity and annotations can each read the
// signature tag before the other wrote, and both write. Once its signature
// is confirmed, a signer removes it again when an equivalent signature
// precedes it in the manifest (looked for only when the last read-back
// found a layer of the same payload besides ours: no request otherwise).
// Only the later of two is ever removed, by its own writer, so the first
// equivalent one stays.
//
// A removal is a read-modify-write like an append, and registries have no
// conditional writes: two signers removing their copies from the same
// manifest can both pass the unchanged-check, and the second put brings
// the first one's copy back. So a removal is confirmed as an append is
// (commit: settled read-backs, again on loss), and converged means ours
// is the first equivalent signature, or gone while an equivalent one is
// there. Should the one kept in ours' place be lost meanwhile, ours is
// put back.

// convergeLegacy converges sig's copies in the signature tag (see above)
// and, when ours was removed, records the one kept in w. It never fails
// the signing: sig was stored, and a duplicate is only a duplicate; a
// convergence that cannot complete leaves it, logged.
func (c *signCall) convergeLegacy(ctx context.Context, w *Written, tag name.Tag, sig oci.Signature) {
	var kept oci.Signature // the equivalent stored in place of ours, when ours is gone
	write := func() (int, error) {
		base, sigs, err := c.readLegacy(tag)
		if err != nil {
			return 0, err
		}
		if _, drop := c.laterDuplicate(sigs, sig); drop >= 0 {
			// The read, the config's POST and PUT, the HEAD, the put.
			return 5, c.removeLegacy(tag, base, sigs, drop)
		}
		if !hasSignature(sigs, sig) && c.firstEquivalent(sigs) == nil {
			return 5, c.appendLegacy(tag, base, sig)
		}
		return 0, nil
	}
	converged := func() (bool, string, error) {
		sigs, state, err := c.legacyState(tag)
		if err != nil {
			return false, "", err
		}
		if _, drop := c.laterDuplicate(sigs, sig); drop >= 0 {
			return false, state, nil
		}
		kept = nil
		if !hasSignature(sigs, sig) {
			if kept = c.firstEquivalent(sigs); kept == nil {
				return false, state, nil
			}
		}
		return true, state, nil
	}
	// commit counts its rounds in a Written of its own: w's are the
	// signature's.
	if err := c.commit(ctx, &Written{Ref: w.Ref}, write, converged); err != nil {
		c.s.o.Logger.InfoContext(ctx, "could not converge equivalent signatures; a duplicate may be left", "ref", w.Ref, "err", err)
		return
	}
	if kept != nil {
		c.s.o.Logger.InfoContext(ctx, "an equivalent signature was stored alongside; removed ours", "ref", w.Ref)
		w.Existing = true
		if d, err := kept.Digest(); err == nil {
			w.Layer = d
		}
	}
}

// laterDuplicate returns the index of the last copy of sig in sigs and of
// an equivalent signature before it; drop is -1 when there is none. Only
// signatures of the same payload layer (the payload is the digest and the
// annotations, marshalled alike) are checked, so nothing is fetched for
// the others.
func (c *signCall) laterDuplicate(sigs []oci.Signature, sig oci.Signature) (keep, drop int) {
	layer, err := sig.Digest()
	if err != nil {
		return -1, -1
	}
	drop = -1
	for i := len(sigs) - 1; i >= 0 && drop < 0; i-- {
		if hasSignature(sigs[i:i+1], sig) {
			drop = i
		}
	}
	for keep = range drop {
		if d, err := sigs[keep].Digest(); err == nil && d == layer && c.match.equivalent(sigs[keep]) {
			return keep, drop
		}
	}
	return -1, -1
}

// removeLegacy puts the signature manifest base without its signature
// number drop, if the tag still names base (else errConflict).
func (c *signCall) removeLegacy(tag name.Tag, base oci.Signatures, sigs []oci.Signature, drop int) error {
	baseDigest, err := base.Digest()
	if err != nil {
		return err
	}
	rest := append(append([]oci.Signature{}, sigs[:drop]...), sigs[drop+1:]...)
	next, err := mutate.AppendSignatures(empty.Signatures(), false, rest...)
	if err != nil {
		return err
	}
	cfg, err := partial.ConfigLayer(next)
	if err != nil {
		return err
	}
	if err := c.writeBlob(tag.Context(), newFreshBlob(cfg)); err != nil {
		return err
	}
	if err := c.unchanged(tag, &baseDigest); err != nil {
		return err
	}
	return c.putConditional(tag, next)
}
