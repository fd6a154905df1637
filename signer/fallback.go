package signer

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
)

// errConflict reports that a manifest changed between our read and our
// write: the write was not made and the read-modify-write starts over.
var errConflict = errors.New("changed by a concurrent writer")

// FallbackTag returns the referrers tag-schema tag for digest
// (layout.FallbackTag).
func FallbackTag(digest name.Digest) name.Tag { return layout.FallbackTag(digest) }

type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// indexFallback adds desc to the fallback index of the image, as ggcr's
// remote.Put would, but checks just before its write that the index is
// still the one it read; otherwise it fails with errConflict. It reads the
// index unless given the listing just read from it (read): ggcr's listing
// of an absent index is empty, which counts as absent (should the tag
// hold an empty index, the check finds a conflict and the index is read).
func (c *signCall) indexFallback(desc v1.Descriptor, read v1.ImageIndex) error {
	tag := FallbackTag(c.digest)
	im, base, err := c.fallbackIndex(tag, read)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == desc.Digest }) {
		return nil
	}
	im.Manifests = append(im.Manifests, desc)
	slices.SortFunc(im.Manifests, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	return c.putFallbackIndex(tag, im, base)
}

// unlistFallback removes the descriptors of digests from the fallback
// index read (idx), if the tag still names it (else errConflict).
func (c *signCall) unlistFallback(idx v1.ImageIndex, digests ...v1.Hash) error {
	tag := FallbackTag(c.digest)
	im, base, err := c.fallbackIndex(tag, idx)
	if err != nil {
		return err
	}
	im.Manifests = slices.DeleteFunc(im.Manifests, func(d v1.Descriptor) bool { return slices.Contains(digests, d.Digest) })
	return c.putFallbackIndex(tag, im, base)
}

// putFallbackIndex puts im under the fallback tag if the tag still names
// base (nil: absent), else errConflict.
func (c *signCall) putFallbackIndex(tag name.Tag, im *v1.IndexManifest, base *v1.Hash) error {
	raw, err := json.Marshal(im)
	if err != nil {
		return err
	}
	if err := c.unchanged(tag, base); err != nil {
		return err
	}
	if err := c.putConditional(tag, rawIndex(raw)); err != nil {
		if listedGone(err) && errors.Is(c.unchanged(tag, base), errConflict) {
			// The index we read lists a manifest another writer has since
			// unlisted and deleted (a concurrent withdrawal): the
			// registry refused the stale index; read it again. Unchanged,
			// it lists a manifest deleted without being unlisted, which
			// reading again does not cure: the error stands.
			return errConflict
		}
		return fmt.Errorf("writing %s: %w", tag, err)
	}
	return nil
}

// listedGone reports whether a registry refused an index because a
// manifest it lists is not stored (distribution: MANIFEST_BLOB_UNKNOWN;
// go-containerregistry's registry: MANIFEST_UNKNOWN).
func listedGone(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestBlobUnknownErrorCode || d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}

// fallbackIndex returns the fallback index's manifest and digest (nil: no
// index), from read if given, else from the registry.
func (c *signCall) fallbackIndex(tag name.Tag, read v1.ImageIndex) (*v1.IndexManifest, *v1.Hash, error) {
	im := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if read != nil {
		got, err := read.IndexManifest()
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
		}
		if len(got.Manifests) == 0 {
			return im, nil, nil
		}
		d, err := read.Digest()
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
		}
		return got.DeepCopy(), &d, nil
	}
	got, err := remote.Get(tag, c.ropts...)
	switch {
	case layout.IsNotFound(err):
		return im, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	if err := json.Unmarshal(got.Manifest, im); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return im, &got.Digest, nil
}

// unchanged checks that tag still points at base (nil: that it is absent),
// right before a write based on it.
func (c *signCall) unchanged(tag name.Tag, base *v1.Hash) error {
	cur, err := remote.Head(tag, c.ropts...)
	switch {
	case layout.IsNotFound(err):
		if base != nil {
			return errConflict
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", tag, err)
	case base == nil || cur.Digest != *base:
		return errConflict
	}
	return nil
}
