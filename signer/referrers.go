package signer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci"
	cempty "github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/hallmark-dev/hallmark/layout"
)

// ArtifactType is the artifactType (and config media type) of the OCI 1.1
// referrer manifests cosign v2 writes for signatures.
const ArtifactType = layout.SimpleSigningArtifactType

// writeReferrer stores the signature as an OCI 1.1 referrer of the image,
// unless an equivalent referrer exists.
func (c *signCall) writeReferrer(ctx context.Context) (*Written, error) {
	subject, err := c.subjectDescriptor()
	if err != nil {
		return nil, err
	}
	w := &Written{Format: FormatSimpleSigning, Layout: ModeOCI11}
	listing, err := c.referrers(w)
	if err != nil {
		return nil, err
	}
	ref, sig, err := c.findReferrer(listing)
	if err != nil {
		return nil, err
	}
	if sig != nil {
		w.Ref = ref.String()
		return c.existing(ctx, w, sig), nil
	}
	if sig, err = c.signature(ctx); err != nil {
		return nil, err
	}
	if w.Layer, err = sig.Digest(); err != nil {
		return nil, err
	}
	ref, manifest, err := c.uploadReferrer(sig, subject)
	if err != nil {
		return nil, err
	}
	w.Ref = ref.String()
	kind := c.simpleSigningKind()
	if err := c.putReferrer(ctx, w, ref, manifest, listing, kind); err != nil {
		return w, err
	}
	c.convergeReferrer(ctx, w, ref, manifest, kind)
	return w, nil
}

// subjectDescriptor returns the image's descriptor, read once if unknown.
func (c *signCall) subjectDescriptor() (*v1.Descriptor, error) {
	if c.subject == nil {
		d, err := remote.Head(c.digest, c.ropts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", c.digest, err)
		}
		c.subject = d
	}
	return c.subject, nil
}

// putReferrer puts the referrer manifest. On registries without the
// referrers API the "sha256-<hex>" fallback index lists it (its
// descriptor with artifactType and annotations, layout.ReferrerDescriptor);
// commit reads the listing back and updates the index again when a
// concurrent writer's update dropped ours. listing is the referrers
// listing read before. A signature of kind (nil: an attestation) removed
// meanwhile by another signer in favour of an equivalent one counts as
// written (see convergeReferrer).
func (c *signCall) putReferrer(ctx context.Context, w *Written, ref name.Digest, manifest rawManifest, listing v1.ImageIndex, kind *referrerKind) error {
	desc, err := layout.ReferrerDescriptor(manifest)
	if err != nil {
		return err
	}
	put := func() (int, error) {
		// The pusher has ggcr's tag fallback off: indexFallback checks the
		// index did not change between its read and its write. With the
		// referrers API the registry lists the manifest itself: no other
		// writer can drop it, so there is nothing to read back.
		err := remote.Put(ref, manifest, c.ropts...)
		if layout.NoReferrersAPI(err) {
			c.s.noReferrersAPI.Store(c.digest.RegistryStr(), true)
			w.Location = layout.LocationFallback
			// The first update starts from the listing just read (the
			// fallback index; its check before the write catches a change
			// since): the referrer's PUT, the index's HEAD and PUT. Later
			// ones read the index again first.
			base, trips := listing, 3
			if listing == nil {
				trips++
			}
			listing = nil
			return trips, c.indexFallback(desc, base)
		}
		if err != nil {
			return 0, fmt.Errorf("writing referrer %s: %w", ref, err)
		}
		w.Location = layout.LocationReferrers
		return 0, nil
	}
	return c.commit(ctx, w, put, func() (bool, string, error) { return c.presentOrKept(ref, kind) })
}

// referrers lists the image's referrers: through the referrers API, or
// the fallback index on registries without it (empty when absent), and
// records in w, when given, which it was. A registry found without the
// API is not asked again by this Signer: its listings read the index.
func (c *signCall) referrers(w *Written) (v1.ImageIndex, error) {
	loc := func(l layout.Location) {
		if w != nil {
			w.Location = l
		}
	}
	host := c.digest.RegistryStr()
	if _, noAPI := c.s.noReferrersAPI.Load(host); !noAPI {
		idx, err := remote.Referrers(c.digest, c.listOpts...)
		if err == nil {
			loc(layout.LocationReferrers)
			return idx, nil
		}
		if !layout.NoReferrersAPI(err) {
			return nil, fmt.Errorf("listing referrers of %s: %w", c.digest, err)
		}
		c.s.noReferrersAPI.Store(host, true)
	}
	loc(layout.LocationFallback)
	tag := FallbackTag(c.digest)
	idx, err := remote.Index(tag, c.ropts...)
	if layout.IsNotFound(err) {
		return empty.Index, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return idx, nil
}

// listedIn reports whether the referrers listing idx has the referrer
// manifest ref; the state is the sorted digests listed (the API may list
// them in any order). It records the others, in that order, in
// c.otherReferrers.
func (c *signCall) listedIn(idx v1.ImageIndex, ref name.Digest) (bool, string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return false, "", fmt.Errorf("listing referrers of %s: %w", c.digest, err)
	}
	found := false
	digests := make([]string, 0, len(im.Manifests))
	var others []v1.Descriptor
	for _, d := range im.Manifests {
		digests = append(digests, d.Digest.String())
		if d.Digest.String() == ref.DigestStr() {
			found = true
		} else {
			others = append(others, d)
		}
	}
	slices.Sort(digests)
	slices.SortFunc(others, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	c.otherReferrers = others
	return found, strings.Join(digests, ","), nil
}

// findReferrer returns the first simple-signing referrer in listing
// holding an equivalent signature.
func (c *signCall) findReferrer(listing v1.ImageIndex) (name.Digest, oci.Signature, error) {
	repo := c.digest.Context()
	im, err := listing.IndexManifest()
	if err != nil {
		return name.Digest{}, nil, fmt.Errorf("listing referrers of %s: %w", c.digest, err)
	}
	for _, desc := range im.Manifests {
		if desc.ArtifactType != ArtifactType {
			continue
		}
		ref := repo.Digest(desc.Digest.String())
		sigs, err := ociremote.Signatures(ref, ociremote.WithRemoteOptions(c.ropts...))
		if layout.IsNotFound(err) {
			continue // deleted since listed: a converged duplicate
		}
		if err != nil {
			return name.Digest{}, nil, fmt.Errorf("reading referrer %s: %w", ref, err)
		}
		list, err := sigs.Get()
		if layout.IsNotFound(err) {
			continue
		}
		if err != nil {
			return name.Digest{}, nil, fmt.Errorf("reading referrer %s: %w", ref, err)
		}
		if sig := c.firstEquivalent(list); sig != nil {
			return ref, sig, nil
		}
	}
	return name.Digest{}, nil, nil
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// uploadReferrer uploads the signature layer and config blob and returns
// the referrer manifest (subject: the image) to put, and its reference.
func (c *signCall) uploadReferrer(sig oci.Signature, subject *v1.Descriptor) (name.Digest, rawManifest, error) {
	repo := c.digest.Context()
	img, err := mutate.AppendSignatures(cempty.Signatures(), false, sig)
	if err != nil {
		return name.Digest{}, nil, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return name.Digest{}, nil, err
	}
	if err := c.writeBlob(repo, newFreshBlob(static.NewLayer(cfg, types.OCIConfigJSON))); err != nil {
		return name.Digest{}, nil, fmt.Errorf("uploading signature blob: %w", err)
	}
	if err := c.payloadUploaded(); err != nil { // the signature layer
		return name.Digest{}, nil, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return name.Digest{}, nil, err
	}
	var m layout.ReferrerManifest
	if err := json.Unmarshal(raw, &m.Manifest); err != nil {
		return name.Digest{}, nil, err
	}
	m.Config.MediaType = types.MediaType(ArtifactType)
	m.ArtifactType = ArtifactType
	m.Subject = &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	b, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return name.Digest{}, nil, err
	}
	return repo.Digest(h.String()), rawManifest(b), nil
}
