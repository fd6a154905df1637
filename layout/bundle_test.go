package layout_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
)

func TestEmptyDigest(t *testing.T) {
	h, n, err := v1.SHA256(bytes.NewReader([]byte(layout.EmptyJSON)))
	if err != nil || h != layout.EmptyDigest || n != 2 {
		t.Fatalf("sha256(%q) = %s %d %v, EmptyDigest %s", layout.EmptyJSON, h, n, err, layout.EmptyDigest)
	}
}

// TestBundleManifest checks the referrer manifest against the shape cosign
// v3.1's WriteAttestationNewBundleFormat writes, and the descriptor that
// lists it.
func TestBundleManifest(t *testing.T) {
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: "aa" + string(bytes.Repeat([]byte("0"), 62))}, Size: 123}
	blob := v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: "bb" + string(bytes.Repeat([]byte("0"), 62))}, Size: 4567}
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.FixedZone("x", 3600))
	raw, err := layout.BundleManifest(subject, blob, layout.PredicateTypeSign, created)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"},` +
		`"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":4567,"digest":"` + blob.Digest.String() + `"}],` +
		`"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2026-11-30T11:00:00Z"},` +
		`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":123,"digest":"` + subject.Digest.String() + `"},` +
		`"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`
	if string(raw) != want {
		t.Fatalf("manifest\n got %s\nwant %s", raw, want)
	}
	d, err := layout.ReferrerDescriptor(raw)
	if err != nil {
		t.Fatal(err)
	}
	h, n, _ := v1.SHA256(bytes.NewReader(raw))
	if d.Digest != h || d.Size != n || d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != layout.BundleMediaType ||
		len(d.Annotations) != 3 || d.Annotations[layout.AnnotationBundlePredicateType] != layout.PredicateTypeSign {
		t.Fatalf("descriptor: %+v", d)
	}
	if !layout.IsBundleReferrer(d) || !layout.MayBeSignatureBundle(d) {
		t.Fatal("IsBundleReferrer or MayBeSignatureBundle refuses the bundle's descriptor")
	}
}

// TestReferrerDescriptorArtifactType: without an artifactType, a
// referrer's is its config's media type.
func TestReferrerDescriptorArtifactType(t *testing.T) {
	m := layout.ReferrerManifest{Manifest: v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: layout.SimpleSigningArtifactType, Digest: layout.EmptyDigest, Size: 2}}}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := layout.ReferrerDescriptor(raw)
	if err != nil || d.ArtifactType != layout.SimpleSigningArtifactType || d.Annotations != nil {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestMayBeSignatureBundle(t *testing.T) {
	ann := func(pt string) map[string]string { return map[string]string{layout.AnnotationBundlePredicateType: pt} }
	for _, tc := range []struct {
		name string
		d    v1.Descriptor
		want bool
	}{
		{"bundle signature", v1.Descriptor{ArtifactType: layout.BundleMediaType, Annotations: ann(layout.PredicateTypeSign)}, true},
		{"bundle without annotations", v1.Descriptor{ArtifactType: layout.BundleMediaType}, true},
		{"attestation bundle", v1.Descriptor{ArtifactType: layout.BundleMediaType, Annotations: ann("https://slsa.dev/provenance/v1")}, false},
		{"artifactType from the empty config", v1.Descriptor{ArtifactType: layout.EmptyMediaType, Annotations: ann(layout.PredicateTypeSign)}, true},
		{"no artifactType", v1.Descriptor{}, true},
		{"simple-signing referrer", v1.Descriptor{ArtifactType: layout.SimpleSigningArtifactType}, false},
		{"SBOM", v1.Descriptor{ArtifactType: "application/spdx+json"}, false},
	} {
		if got := layout.MayBeSignatureBundle(tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
