package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// Where bundle signatures are found: the same places as simple-signing
// referrers, named apart so that a search can be limited to one format.
const (
	// LocationBundleReferrers is a Sigstore bundle referrer listed by the
	// referrers API.
	LocationBundleReferrers Location = "bundle"
	// LocationBundleFallback is a Sigstore bundle referrer listed in the
	// FallbackTag index (registries without the referrers API).
	LocationBundleFallback Location = "bundle-fallback"
)

// BundleLocation returns where a bundle referrer listed in l (one of
// LocationReferrers and LocationFallback) is found.
func BundleLocation(l Location) Location {
	if l == LocationFallback {
		return LocationBundleFallback
	}
	return LocationBundleReferrers
}

// EmptyMediaType is the media type of the OCI empty descriptor, the
// config of cosign's bundle referrers.
const EmptyMediaType = "application/vnd.oci.empty.v1+json"

// IsBundleReferrer reports whether a referrer descriptor is a Sigstore
// bundle: its artifactType is BundleMediaType, or, from a registry that
// lists a referrer's config media type as its artifactType (as
// go-containerregistry's registry does), it is the empty type (or none)
// and the descriptor has cosign's bundle annotations.
func IsBundleReferrer(d v1.Descriptor) bool {
	switch d.ArtifactType {
	case BundleMediaType:
		return true
	case EmptyMediaType, "":
		_, content := d.Annotations[AnnotationBundleContent]
		_, predicate := d.Annotations[AnnotationBundlePredicateType]
		return content || predicate
	}
	return false
}

// MayBeBundleReferrer reports whether a referrer descriptor that is not
// known to be a bundle (IsBundleReferrer) may still be one: its
// artifactType is the empty config type or none, and it has no
// annotations to tell. Fallback indexes written with go-containerregistry
// before v0.22.1 (cosign 2.6.5's --new-bundle-format) list bundle
// referrers so; only reading the manifest tells (ErrNotBundleReferrer).
func MayBeBundleReferrer(d v1.Descriptor) bool {
	return (d.ArtifactType == EmptyMediaType || d.ArtifactType == "") && !IsBundleReferrer(d)
}

// MaxBundleReferrerSize limits the size of a bundle referrer's manifest
// and of its bundle layer when they are read: a bundle is a few KiB.
const MaxBundleReferrerSize = 4 << 20

var (
	// ErrBundleReferrer reports a bundle referrer that cannot be read:
	// too large, or its layer not a Sigstore bundle v0.3 or later.
	ErrBundleReferrer = errors.New("unreadable bundle referrer")
	// ErrNotBundleReferrer reports a referrer that is not a bundle
	// referrer: its manifest does not have one layer of BundleMediaType.
	ErrNotBundleReferrer = errors.New("not a bundle referrer")
)

// ReadBundleReferrer reads the bundle referrer ref (listed with size
// bytes): its manifest must have one layer of media type BundleMediaType,
// a Sigstore bundle v0.3 or later. The manifest and the layer are each
// read only up to MaxBundleReferrerSize. It fails with ErrNotBundleReferrer
// for a referrer of another shape, ErrBundleReferrer for one too large or
// whose layer is not a bundle, or with the registry's error.
func ReadBundleReferrer(ref name.Digest, size int64, ropts []remote.Option) (*sgbundle.Bundle, error) {
	if size > MaxBundleReferrerSize {
		return nil, fmt.Errorf("%w: manifest %s is listed with %d bytes, more than the %d read", ErrBundleReferrer, ref, size, MaxBundleReferrerSize)
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("reading bundle referrer %s: %w", ref, err)
	}
	if len(desc.Manifest) > MaxBundleReferrerSize {
		return nil, fmt.Errorf("%w: manifest %s has %d bytes, more than the %d read", ErrBundleReferrer, ref, len(desc.Manifest), MaxBundleReferrerSize)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", ErrNotBundleReferrer, ref, err)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType {
		return nil, fmt.Errorf("%w: manifest %s does not have exactly one layer of type %s", ErrNotBundleReferrer, ref, BundleMediaType)
	}
	b, err := readBlob(ref.Context().Digest(m.Layers[0].Digest.String()), m.Layers[0].Size, ropts)
	if err != nil {
		return nil, err
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: layer of %s: %w", ErrBundleReferrer, ref, err)
	}
	// A certificate chain in the bundle only helps build the path to a
	// trusted root, as cosign v3's --allow-certificate-chain.
	bundle, err := sgbundle.NewBundle(&pb, sgbundle.AllowCertificateChain())
	if err != nil {
		return nil, fmt.Errorf("%w: layer of %s: %w", ErrBundleReferrer, ref, err)
	}
	if !bundle.MinVersion("v0.3") {
		return nil, fmt.Errorf("%w: layer of %s: bundle version older than v0.3", ErrBundleReferrer, ref)
	}
	return bundle, nil
}

// readBlob reads a blob of at most MaxBundleReferrerSize bytes, which
// go-containerregistry checks against its digest.
func readBlob(ref name.Digest, size int64, ropts []remote.Option) ([]byte, error) {
	if size > MaxBundleReferrerSize {
		return nil, fmt.Errorf("%w: bundle %s is listed with %d bytes, more than the %d read", ErrBundleReferrer, ref, size, MaxBundleReferrerSize)
	}
	l, err := remote.Layer(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", ref, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", ref, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, MaxBundleReferrerSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", ref, err)
	}
	if n > MaxBundleReferrerSize {
		return nil, fmt.Errorf("%w: bundle %s has more than the %d bytes read", ErrBundleReferrer, ref, MaxBundleReferrerSize)
	}
	return buf.Bytes(), nil
}

// StatementPredicateType returns the predicateType of an in-toto
// statement of any version (cosign v3's attest writes Statement v0.1, its
// sign Statement v1), or "" when payload has none.
func StatementPredicateType(payload []byte) string {
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(payload, &st) != nil {
		return ""
	}
	return st.PredicateType
}
