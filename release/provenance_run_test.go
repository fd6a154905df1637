package release

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// provenanceIndex is what BuildKit pushes for one platform with
// provenance: an index of the image manifest and its attestation manifest
// holding an SLSA v1 statement about it, the predicate naming builderID.
func provenanceIndex(t *testing.T, builderID string) v1.ImageIndex {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return attestedIndex(t, img, &v1.Platform{OS: "linux", Architecture: "amd64"}, mustDigest(t, img),
		[]byte(`{"runDetails":{"builder":{"id":"`+builderID+`"}}}`))
}

// provenanceBuild stands in for buildkitd building with provenance: it
// waits for BeforeExport, pushes idx by digest and reports it as the
// builder does.
func provenanceBuild(t *testing.T, reg *signertest.Registry, idx v1.ImageIndex) func(context.Context, BuildOptions) (*builder.Result, error) {
	return func(ctx context.Context, o BuildOptions) (*builder.Result, error) {
		if o.Request.Provenance == nil {
			t.Error("the build was not asked for provenance")
		}
		if err := o.Request.BeforeExport(ctx); err != nil {
			return nil, err
		}
		h, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		d, err := name.NewDigest(reg.Host+"/app@"+h.String(), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(d, idx, reg.Options...); err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		img, att := im.Manifests[0], im.Manifests[1]
		raw, err := idx.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		return &builder.Result{Image: d, Digest: h, MediaType: string(types.OCIImageIndex), Size: int64(len(raw)), Tags: o.Tags,
			Platforms: []builder.PlatformDigest{{Platform: "linux/amd64", Digest: img.Digest, MediaType: string(img.MediaType), Size: img.Size, Attestation: &att}}}, nil
	}
}

// TestRunProvenanceTwice: a release run again on the same content — the
// same index, the same provenance — signs and attests nothing more: one
// provenance attestation per platform, reported as already stored; the
// index, the platform manifest and the attestation manifest are signed.
func TestRunProvenanceTwice(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			job := "https://gl.example/g/app/-/jobs/7"
			idx := provenanceIndex(t, job)
			standInBuild(t, provenanceBuild(t, reg, idx))
			var attestations []string
			for run := range 2 {
				o, _ := keyedRelease(t, reg, &recorder{})
				o.Signer.Bundle = true
				o.Build.Request.Provenance = &builder.Provenance{BuilderID: job}
				res, err := Run(t.Context(), o)
				if err != nil {
					t.Fatalf("run %d: %v", run+1, err)
				}
				if len(res.Provenance) != 1 || res.Provenance[0].Attestation == nil {
					t.Fatalf("run %d: provenance %+v, want one platform's attestation", run+1, res.Provenance)
				}
				if a := res.Provenance[0].Attestation; a.Existing != (run == 1) {
					t.Errorf("run %d: attestation reported as already stored: %v", run+1, a.Existing)
				}
				if n := len(res.Signatures); n != 3 {
					t.Errorf("run %d: %d digests signed, want the index, the platform manifest and the attestation manifest", run+1, n)
				}
				attestations = append(attestations, res.Provenance[0].Attestation.Ref)
			}
			if attestations[0] != attestations[1] {
				t.Errorf("the second run attested %s, want the first's %s", attestations[1], attestations[0])
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			manifest, err := name.NewDigest(reg.Host+"/app@"+im.Manifests[0].Digest.String(), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if n := countProvenanceAttestations(t, reg, manifest); n != 1 {
				t.Fatalf("%d provenance attestations of the platform manifest after two releases, want 1", n)
			}
		})
	}
}

// countProvenanceAttestations counts d's referrers annotated as bundles of
// SLSA v1 provenance.
func countProvenanceAttestations(t *testing.T, reg *signertest.Registry, d name.Digest) int {
	t.Helper()
	return testutil.Attestations(t, d, reg.Options, layout.PredicateTypeSLSAProvenance1)
}
