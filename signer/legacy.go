package signer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/hallmark-dev/hallmark/layout"
)

// SignatureTag returns cosign's legacy signature tag for digest:
// "sha256-<hex>.sig" in the image's repository (layout.SignatureTag).
func SignatureTag(digest name.Digest) name.Tag { return layout.SignatureTag(digest) }

// writeLegacy appends the signature to the image under the signature tag,
// unless an equivalent one is there.
func (c *signCall) writeLegacy(ctx context.Context) (*Written, error) {
	tag := SignatureTag(c.digest)
	w := &Written{Format: FormatSimpleSigning, Layout: ModeLegacy, Location: layout.LocationLegacy, Ref: tag.String()}
	base, existing, err := c.readLegacy(tag)
	if err != nil {
		return nil, err
	}
	if sig := c.firstEquivalent(existing); sig != nil {
		return c.existing(ctx, w, sig), nil
	}
	if err := roomFor(tag, existing); err != nil {
		return nil, err
	}
	sig, err := c.signature(ctx)
	if err != nil {
		return nil, err
	}
	if w.Layer, err = sig.Digest(); err != nil {
		return nil, err
	}
	if err := c.payloadUploaded(); err != nil {
		return nil, err
	}
	// The first write appends to the manifest just read (its HEAD check
	// catches a change since): the config's POST and PUT, the HEAD, the
	// manifest's PUT. Later ones read it again first.
	write := func() (int, error) {
		b, trips := base, 4
		if base == nil {
			trips++
		}
		base = nil
		return trips, c.appendLegacy(tag, b, sig)
	}
	if err := c.commit(ctx, w, write, func() (bool, string, error) { return c.hasLegacy(tag, sig) }); err != nil {
		return w, err
	}
	if c.legacyTwin {
		c.convergeLegacy(ctx, w, tag, sig)
	}
	return w, nil
}

// readLegacy reads the signature manifest (none yet: empty) and its
// signatures.
func (c *signCall) readLegacy(tag name.Tag) (oci.Signatures, []oci.Signature, error) {
	base, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(c.ropts...))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	sigs, err := base.Get()
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return base, sigs, nil
}

// legacyState reads tag's signatures and what a read-back compares: the
// signature manifest's digest, "" while the tag is absent.
func (c *signCall) legacyState(tag name.Tag) ([]oci.Signature, string, error) {
	base, sigs, err := c.readLegacy(tag)
	if err != nil || !onRegistry(base) {
		return sigs, "", err
	}
	d, err := base.Digest()
	if err != nil {
		return nil, "", err
	}
	return sigs, d.String(), nil
}

// appendLegacy is one read-modify-write of the signature manifest: read
// it (unless base is what was just read), append the signature layer,
// upload the new config and, if the tag still points at what was read, put
// the manifest (else errConflict). The signature blob is already uploaded,
// so the window is a few requests.
func (c *signCall) appendLegacy(tag name.Tag, base oci.Signatures, sig oci.Signature) error {
	if base == nil {
		var err error
		if base, err = ociremote.Signatures(tag, ociremote.WithRemoteOptions(c.ropts...)); err != nil {
			return fmt.Errorf("reading %s: %w", tag, err)
		}
	}
	existing, err := base.Get()
	if err != nil {
		return fmt.Errorf("reading %s: %w", tag, err)
	}
	if hasSignature(existing, sig) {
		return nil // another writer restored it
	}
	if err := roomFor(tag, existing); err != nil {
		return err
	}
	var baseDigest *v1.Hash
	if onRegistry(base) {
		d, err := base.Digest()
		if err != nil {
			return err
		}
		baseDigest = &d
	}
	next, err := mutate.AppendSignatures(base, false, sig)
	if err != nil {
		return err
	}
	cfg, err := partial.ConfigLayer(next)
	if err != nil {
		return err
	}
	if err := c.writeBlob(tag.Context(), newFreshBlob(cfg)); err != nil {
		return fmt.Errorf("uploading signature config: %w", err)
	}
	if err := c.unchanged(tag, baseDigest); err != nil {
		return err
	}
	if err := c.putConditional(tag, next); err != nil {
		return fmt.Errorf("writing %s: %w", tag, err)
	}
	return nil
}

// onRegistry reports whether base was read from the registry (an empty
// manifest, without layers, included), not made up for a tag that does
// not exist: then the unchanged-check expects the tag to name it.
func onRegistry(base oci.Signatures) bool {
	return reflect.TypeOf(base) != reflect.TypeOf(empty.Signatures())
}

// roomFor checks the signature tag can take one more signature without
// passing the most cosign reads.
func roomFor(tag name.Tag, existing []oci.Signature) error {
	if len(existing) >= layout.MaxSignatureLayers {
		return fmt.Errorf("%s: %w", tag, ErrSignatureTagFull)
	}
	return nil
}

// hasSignature reports whether sigs holds sig (same layer, same signature).
func hasSignature(sigs []oci.Signature, sig oci.Signature) bool {
	d, err1 := sig.Digest()
	b64, err2 := sig.Base64Signature()
	if err1 != nil || err2 != nil {
		return false
	}
	for _, s := range sigs {
		sd, err1 := s.Digest()
		sb, err2 := s.Base64Signature()
		if err1 == nil && err2 == nil && sd == d && sb == b64 {
			return true
		}
	}
	return false
}

// hasLegacy reads the signature manifest and looks for sig's layer, by
// digest and signature annotation; the state is the manifest's digest.
// It records in c.legacyTwin whether another layer of the same payload
// (another signature of the same digest and annotations) is there too.
func (c *signCall) hasLegacy(tag name.Tag, sig oci.Signature) (bool, string, error) {
	desc, err := remote.Get(tag, c.ropts...)
	if layout.IsNotFound(err) {
		return false, "", nil // deleted by someone else: write again
	}
	if err != nil {
		return false, "", fmt.Errorf("reading back %s: %w", tag, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return false, "", fmt.Errorf("reading back %s: %w", tag, err)
	}
	d, err := sig.Digest()
	if err != nil {
		return false, "", err
	}
	b64, err := sig.Base64Signature()
	if err != nil {
		return false, "", err
	}
	found, same := false, 0
	for _, l := range m.Layers {
		if l.Digest == d {
			same++
			found = found || l.Annotations[static.SignatureAnnotationKey] == b64
		}
	}
	c.legacyTwin = found && same > 1
	return found, desc.Digest.String(), nil
}

// firstEquivalent returns the first stored signature equivalent to ours.
func (c *signCall) firstEquivalent(sigs []oci.Signature) oci.Signature {
	for _, sig := range sigs {
		if c.match.equivalent(sig) {
			return sig
		}
	}
	return nil
}

// existing records that a layout already holds an equivalent signature.
func (c *signCall) existing(ctx context.Context, w *Written, sig oci.Signature) *Written {
	w.Existing = true
	c.found(sig)
	if d, err := sig.Digest(); err == nil {
		w.Layer = d
	}
	c.s.o.Logger.DebugContext(ctx, "an equivalent signature is already stored", "ref", w.Ref)
	return w
}
