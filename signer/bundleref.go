package signer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
)

// maxBundleSize bounds a stored signature bundle read to compare it with
// ours; maxAttestationBundleSize an attestation's (BuildKit's provenance
// in max mode may take megabytes).
const (
	maxBundleSize            = 1 << 20
	maxAttestationBundleSize = 32 << 20
)

// writeBundle stores the bundle signature as cosign v3 does: an OCI 1.1
// referrer manifest of the image (layout.BundleManifest) whose one layer
// is the bundle, listed by the referrers API or the fallback index,
// unless an equivalent bundle is listed already.
func (c *signCall) writeBundle(ctx context.Context) (*Written, error) {
	subject, err := c.subjectDescriptor()
	if err != nil {
		return nil, err
	}
	w := &Written{Format: FormatBundle, Layout: ModeOCI11}
	listing, err := c.referrers(w)
	if err != nil {
		return nil, err
	}
	ref, found, err := c.findBundle(listing)
	if err != nil {
		return nil, err
	}
	if found != nil {
		w.Ref, w.Existing, c.bundle = ref.String(), true, found
		w.Layer, _, _ = v1.SHA256(bytes.NewReader(found))
		c.s.o.Logger.DebugContext(ctx, "an equivalent bundle is already stored", "ref", w.Ref)
		return w, nil
	}
	if c.bundle == nil {
		if c.bundle, err = c.s.signBundle(ctx, c.digest, c.annotations); err != nil {
			return nil, err
		}
	}
	blob := static.NewLayer(c.bundle, layout.BundleMediaType)
	if w.Layer, err = blob.Digest(); err != nil {
		return nil, err
	}
	if err := c.writeBlob(c.digest.Context(), newFreshBlob(blob)); err != nil {
		return nil, fmt.Errorf("uploading the bundle: %w", err)
	}
	if err := c.emptyUp.wait(); err != nil {
		return nil, err
	}
	manifest, err := layout.BundleManifest(*subject, v1.Descriptor{Digest: w.Layer, Size: int64(len(c.bundle))},
		layout.PredicateTypeSign, time.Now())
	if err != nil {
		return nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return nil, err
	}
	ref = c.digest.Context().Digest(h.String())
	w.Ref = ref.String()
	kind := c.bundleKind()
	if err := c.putReferrer(ctx, w, ref, rawManifest(manifest), listing, kind); err != nil {
		return w, err
	}
	c.convergeReferrer(ctx, w, ref, rawManifest(manifest), kind)
	return w, nil
}

// findBundle returns the first bundle referrer in listing whose bundle
// is equivalent to the one this signer would write, and that bundle.
func (c *signCall) findBundle(listing v1.ImageIndex) (name.Digest, []byte, error) {
	im, err := listing.IndexManifest()
	if err != nil {
		return name.Digest{}, nil, fmt.Errorf("listing referrers of %s: %w", c.digest, err)
	}
	m := c.s.matcher(c.digest, c.annotations)
	for _, desc := range im.Manifests {
		if !layout.MayBeSignatureBundle(desc) {
			continue
		}
		ref := c.digest.Context().Digest(desc.Digest.String())
		b, err := c.readBundle(ref, maxBundleSize)
		if layout.IsNotFound(err) {
			continue // deleted since listed: a converged duplicate
		}
		if err != nil {
			return name.Digest{}, nil, err
		}
		if b != nil && m.equivalentBundle(b) {
			return ref, b, nil
		}
	}
	return name.Digest{}, nil, nil
}

// readBundle reads the bundle of the referrer manifest ref, up to limit
// bytes; nil when ref is not a bundle referrer of the image after all, or
// its bundle is larger.
func (c *signCall) readBundle(ref name.Digest, limit int64) ([]byte, error) {
	img, err := remote.Image(ref, c.ropts...)
	if err != nil {
		return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != types.MediaType(layout.BundleMediaType) ||
		m.Layers[0].Size > limit || m.Subject == nil || m.Subject.Digest.String() != c.digest.DigestStr() {
		return nil, nil
	}
	l, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("reading the bundle of %s: %w", ref, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("reading the bundle of %s: %w", ref, err)
	}
	return b, nil
}
