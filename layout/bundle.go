package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format is the format of a signature.
type Format string

// The signature formats.
const (
	// FormatSimpleSigning is cosign v2's simple-signing signature: a
	// signed JSON payload naming the image, stored in a Mode's layout.
	FormatSimpleSigning Format = "simple-signing"
	// FormatBundle is cosign v3's Sigstore bundle v0.3 holding a DSSE
	// envelope of a SignStatement, stored as an OCI 1.1 referrer
	// (BundleManifest).
	FormatBundle Format = "bundle"
)

// EmptyJSON is the content of the OCI empty descriptor (EmptyMediaType),
// "{}": the config of a bundle referrer.
const EmptyJSON = "{}"

// EmptyDigest is the digest of EmptyJSON.
var EmptyDigest = v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}

// EmptyDescriptor returns the OCI empty descriptor as cosign v3 writes it
// for the config of a referrer with artifactType: it names the artifact
// type too.
func EmptyDescriptor(artifactType string) v1.Descriptor {
	return v1.Descriptor{MediaType: types.MediaType(EmptyMediaType), ArtifactType: artifactType, Digest: EmptyDigest, Size: int64(len(EmptyJSON))}
}

// BundleAnnotations returns the annotations cosign v3 puts on the
// referrer manifest of a bundle whose statement has predicateType, made
// at created.
func BundleAnnotations(predicateType string, created time.Time) map[string]string {
	return map[string]string{
		AnnotationCreated:             created.UTC().Format(time.RFC3339),
		AnnotationBundleContent:       BundleContentDSSE,
		AnnotationBundlePredicateType: predicateType,
	}
}

// ReferrerManifest is an OCI 1.1 image manifest with its artifactType,
// which go-containerregistry's v1.Manifest lacks.
type ReferrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

// BundleManifest returns the referrer manifest cosign v3 writes for a
// Sigstore bundle (`cosign sign`, `cosign attest`): artifactType
// BundleMediaType, the empty config, one layer — the bundle blob, media
// type BundleMediaType — the subject, and BundleAnnotations. bundle is the
// bundle blob's descriptor (digest and size).
func BundleManifest(subject, bundle v1.Descriptor, predicateType string, created time.Time) ([]byte, error) {
	m := ReferrerManifest{
		Manifest: v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        EmptyDescriptor(BundleMediaType),
			Layers:        []v1.Descriptor{{MediaType: BundleMediaType, Digest: bundle.Digest, Size: bundle.Size}},
			Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
			Annotations:   BundleAnnotations(predicateType, created),
		},
		ArtifactType: BundleMediaType,
	}
	return json.Marshal(m)
}

// ReferrerDescriptor returns the descriptor that lists a referrer
// manifest in the referrers API's answer and in the fallback index: its
// media type, digest and size, its artifactType (the manifest's, else its
// config's media type, as the OCI distribution spec says) and its
// annotations (cosign#4641: cosign v3 finds bundles by them).
func ReferrerDescriptor(manifest []byte) (v1.Descriptor, error) {
	var m ReferrerManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing referrer manifest: %w", err)
	}
	h, size, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	at := m.ArtifactType
	if at == "" {
		at = string(m.Config.MediaType)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: size, ArtifactType: at, Annotations: maps.Clone(m.Annotations)}, nil
}

// MayBeSignatureBundle reports whether a referrers listing's descriptor
// may be a Sigstore bundle signature (PredicateTypeSign): MayBeBundleOf.
func MayBeSignatureBundle(d v1.Descriptor) bool {
	return MayBeBundleOf(d, PredicateTypeSign)
}

// MayBeBundleOf reports whether a referrers listing's descriptor may be a
// Sigstore bundle whose statement has predicateType, as far as the
// descriptor tells: a bundle referrer or one that may be
// (IsBundleReferrer, MayBeBundleReferrer) whose predicate type
// annotation, when present, is predicateType. Its manifest and statement
// decide.
func MayBeBundleOf(d v1.Descriptor, predicateType string) bool {
	if !IsBundleReferrer(d) && !MayBeBundleReferrer(d) {
		return false
	}
	pt, ok := d.Annotations[AnnotationBundlePredicateType]
	return !ok || pt == predicateType
}
