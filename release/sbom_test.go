package release

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
)

// TestReadSBOM: each platform's SPDX statement is read from its
// attestation manifest in a registry, and refused when it is missing, is
// about another manifest or is not an SPDX document.
func TestReadSBOM(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/g/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	manifest := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	spdx := `{"spdxVersion":"SPDX-2.3","name":"sbom","packages":[{"name":"busybox","versionInfo":"1.35.0"},{"name":"probe","versionInfo":"1"}]}`
	provenance := layer(t, layout.PredicateTypeSLSAProvenance1, manifest, `{"runDetails":{}}`)
	tests := []struct {
		name     string
		layers   []mutate.Addendum // nil: no attestation manifest
		what     string            // the SBOMError's What; "" when it passes
		packages int
	}{
		{"SPDX next to provenance", []mutate.Addendum{provenance, layer(t, layout.PredicateTypeSPDX, manifest, spdx)}, "", 2},
		{"no attestation manifest", nil, "attestation manifest", 0},
		{"provenance only", []mutate.Addendum{provenance}, "SPDX SBOM in", 0},
		{"about another manifest", []mutate.Addendum{layer(t, layout.PredicateTypeSPDX, other, spdx)}, "subject", 0},
		{"annotated SPDX, another predicate type", []mutate.Addendum{annotated(layer(t, "https://cyclonedx.org/bom", manifest, spdx), layout.PredicateTypeSPDX)}, "predicate type", 0},
		{"not an SPDX document", []mutate.Addendum{layer(t, layout.PredicateTypeSPDX, manifest, `{"bomFormat":"CycloneDX"}`)}, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := builder.PlatformDigest{Platform: "linux/amd64", Digest: manifest}
			if tt.layers != nil {
				p.Attestation = pushAttestation(t, repo, tt.layers)
			}
			got, err := readSBOM(context.Background(), nil, repo, p)
			var se *SBOMError
			switch {
			case tt.packages < 0:
				if err == nil || errors.As(err, &se) {
					t.Fatalf("want an SPDX parse error, got %v", err)
				}
			case tt.what != "":
				if !errors.As(err, &se) || !strings.HasPrefix(se.What, tt.what) {
					t.Fatalf("want an SBOMError about %s, got %v", tt.what, err)
				}
			case err != nil:
				t.Fatal(err)
			case len(got) != 1 || got[0].Packages != tt.packages || string(got[0].Statement.Predicate) != spdx ||
				got[0].AttestationManifest.Digest.DigestStr() != p.Attestation.Digest.String():
				t.Fatalf("readSBOM() = %+v, want one SBOM of %d packages, its predicate byte for byte", got, tt.packages)
			}
		})
	}
}

// TestWithAttestationManifests: an attestation manifest --provenance
// already signs is not signed twice.
func TestWithAttestationManifests(t *testing.T) {
	repo := mustRepo(t)
	a := signer.Subject{Digest: repo.Digest("sha256:" + strings.Repeat("1", 64))}
	b := signer.Subject{Digest: repo.Digest("sha256:" + strings.Repeat("2", 64))}
	img := signer.Subject{Digest: repo.Digest("sha256:" + strings.Repeat("3", 64))}
	sboms := []SBOM{{AttestationManifest: a}, {AttestationManifest: a}, {AttestationManifest: b}}
	tests := []struct {
		name     string
		subjects []signer.Subject
		want     []signer.Subject
	}{
		{"SBOM only", []signer.Subject{img}, []signer.Subject{img, a, b}},
		{"with provenance", []signer.Subject{img, b}, []signer.Subject{img, b, a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withAttestationManifests(tt.subjects, sboms)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Digest != tt.want[i].Digest {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// layer is an attestation manifest layer as BuildKit writes it: an in-toto
// statement about subject, annotated with its predicate type.
func layer(t *testing.T, predicateType string, subject v1.Hash, predicate string) mutate.Addendum {
	t.Helper()
	b, err := layout.Statement{Digest: subject, PredicateType: predicateType, Predicate: []byte(predicate)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return annotated(mutate.Addendum{Layer: static.NewLayer(b, types.MediaType(layout.InTotoPayloadType))}, predicateType)
}

func annotated(a mutate.Addendum, predicateType string) mutate.Addendum {
	a.Annotations = map[string]string{annotationPredicateType: predicateType}
	return a
}

func pushAttestation(t *testing.T, repo name.Repository, layers []mutate.Addendum) *v1.Descriptor {
	t.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(d.String()), img); err != nil {
		t.Fatal(err)
	}
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	return desc
}
