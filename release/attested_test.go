package release

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/layout"
)

// attestedIndex is what BuildKit pushes for one platform with provenance:
// an index of img (for platform) and its attestation manifest (platform
// unknown/unknown, annotated with img's digest) holding an SLSA v1
// statement about subject with predicate.
func attestedIndex(t *testing.T, img v1.Image, platform *v1.Platform, subject v1.Hash, predicate []byte) v1.ImageIndex {
	t.Helper()
	stmt, err := layout.Statement{Digest: subject, PredicateType: layout.PredicateTypeSLSAProvenance1, Predicate: predicate}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(stmt, types.MediaType(layout.InTotoPayloadType)),
		Annotations: map[string]string{annotationPredicateType: layout.PredicateTypeSLSAProvenance1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{builder.AnnotationReferenceType: builder.ReferenceTypeAttestation, builder.AnnotationReferenceDigest: mustDigest(t, img).String()}}})
}

// mustDigest is d's digest.
func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
