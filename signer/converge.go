package signer

import (
	"context"
	"errors"

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
// found a layer of the same payload before ours: no request otherwise). Only the later of two is ever removed, by
// its own writer, so the first equivalent one stays; each removal is a
// conditional write, so it acts on the manifest as read.

// maxConvergeRounds bounds the removal's read-modify-write rounds.
const maxConvergeRounds = 5

// convergeLegacy removes sig from the signature tag when an equivalent
// signature precedes it (see above) and records the one kept in w. It
// never fails the signing: sig is stored, and a duplicate is only a
// duplicate; a round that cannot complete leaves it.
func (c *signCall) convergeLegacy(ctx context.Context, w *Written, tag name.Tag, sig oci.Signature) {
	for range maxConvergeRounds {
		base, sigs, err := c.readLegacy(tag)
		if err != nil {
			c.s.o.Logger.InfoContext(ctx, "could not check for an equivalent signature stored alongside", "ref", w.Ref, "err", err)
			return
		}
		keep, drop := c.laterDuplicate(sigs, sig)
		if drop < 0 {
			return
		}
		err = c.removeLegacy(tag, base, sigs, drop)
		if err == nil {
			c.s.o.Logger.InfoContext(ctx, "an equivalent signature was stored alongside; removed ours", "ref", w.Ref)
			w.Existing = true
			if d, err := sigs[keep].Digest(); err == nil {
				w.Layer = d
			}
			return
		}
		if !errors.Is(err, errConflict) && !transientFailure(err) {
			c.s.o.Logger.InfoContext(ctx, "could not remove a duplicate signature", "ref", w.Ref, "err", err)
			return
		}
		if err := sleep(ctx, settleDelay(0)); err != nil {
			return
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
