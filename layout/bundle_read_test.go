package layout_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/layout"
)

func TestIsBundleReferrer(t *testing.T) {
	ann := map[string]string{layout.AnnotationBundleContent: layout.BundleContentDSSE, layout.AnnotationBundlePredicateType: layout.PredicateTypeSign}
	for _, tc := range []struct {
		name string
		d    v1.Descriptor
		want bool
	}{
		{"bundle artifact type", v1.Descriptor{ArtifactType: layout.BundleMediaType}, true},
		{"empty config type with bundle annotations (ggcr's registry)", v1.Descriptor{ArtifactType: layout.EmptyMediaType, Annotations: ann}, true},
		{"no artifact type with bundle annotations", v1.Descriptor{Annotations: ann}, true},
		{"empty config type without annotations", v1.Descriptor{ArtifactType: layout.EmptyMediaType}, false},
		{"simple signing", v1.Descriptor{ArtifactType: layout.SimpleSigningArtifactType, Annotations: ann}, false},
		{"other artifact", v1.Descriptor{ArtifactType: "application/spdx+json"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := layout.IsBundleReferrer(tc.d); got != tc.want {
				t.Fatalf("IsBundleReferrer = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMayBeBundleReferrer(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    v1.Descriptor
		want bool
	}{
		{"empty config type, no annotations (ggcr < 0.22.1 fallback index)", v1.Descriptor{ArtifactType: layout.EmptyMediaType}, true},
		{"no artifact type", v1.Descriptor{}, true},
		{"known bundle", v1.Descriptor{ArtifactType: layout.BundleMediaType}, false},
		{"simple signing", v1.Descriptor{ArtifactType: layout.SimpleSigningArtifactType}, false},
		{"other artifact type", v1.Descriptor{ArtifactType: "application/spdx+json"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := layout.MayBeBundleReferrer(tc.d); got != tc.want {
				t.Fatalf("MayBeBundleReferrer = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBundleLocation(t *testing.T) {
	if got := layout.BundleLocation(layout.LocationReferrers); got != layout.LocationBundleReferrers {
		t.Errorf("referrers API: %s", got)
	}
	if got := layout.BundleLocation(layout.LocationFallback); got != layout.LocationBundleFallback {
		t.Errorf("fallback index: %s", got)
	}
}

func TestStatementPredicateType(t *testing.T) {
	for payload, want := range map[string]string{
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v1","subject":[]}`: "https://slsa.dev/provenance/v1",
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"` + layout.PredicateTypeSign + `"}`:              layout.PredicateTypeSign,
		`{"critical":{}}`: "",
		`not json`:        "",
	} {
		if got := layout.StatementPredicateType([]byte(payload)); got != want {
			t.Errorf("StatementPredicateType(%s) = %q, want %q", payload, got, want)
		}
	}
}
