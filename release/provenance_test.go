package release

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/layout"
)

// TestProvenanceGate: the consistency gate refuses provenance about
// another manifest, of another type, by another builder, of another
// source or revision, and platforms other than those requested.
func TestProvenanceGate(t *testing.T) {
	manifest, err := v1.NewHash("sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	want := &builder.Provenance{BuilderID: "https://gl.example/g/app/-/jobs/7", VCSSource: "https://gl.example/g/app", VCSRevision: "0123"}
	predicate := func(id, source, revision string) []byte {
		return []byte(`{"runDetails":{"builder":{"id":"` + id + `"},"metadata":{"buildkit_metadata":{"vcs":{"source":"` + source + `","revision":"` + revision + `"}}}}}`)
	}
	good := layout.Statement{Digest: manifest, PredicateType: layout.PredicateTypeSLSAProvenance1,
		Predicate: predicate(want.BuilderID, want.VCSSource, want.VCSRevision)}
	with := func(f func(*layout.Statement)) layout.Statement { s := good; f(&s); return s }
	tests := []struct {
		name string
		st   layout.Statement
		what string // "" when it passes
	}{
		{"consistent", good, ""},
		{"another subject", with(func(s *layout.Statement) { s.Digest = other }), "subject"},
		{"another predicate type", with(func(s *layout.Statement) { s.PredicateType = "https://slsa.dev/provenance/v0.2" }), "predicate type"},
		{"another builder", with(func(s *layout.Statement) {
			s.Predicate = predicate("https://evil/run", want.VCSSource, want.VCSRevision)
		}), "builder id"},
		{"another source", with(func(s *layout.Statement) {
			s.Predicate = predicate(want.BuilderID, "https://evil/app", want.VCSRevision)
		}), "VCS source"},
		{"another revision", with(func(s *layout.Statement) { s.Predicate = predicate(want.BuilderID, want.VCSSource, "fff") }), "VCS revision"},
		{"no revision", with(func(s *layout.Statement) { s.Predicate = predicate(want.BuilderID, want.VCSSource, "") }), "VCS revision"},
	}
	repo := mustRepo(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkProvenance(Provenance{Platform: "linux/amd64", Manifest: repo.Digest(manifest.String()), Statement: tt.st}, want)
			var pe *ProvenanceError
			switch {
			case tt.what == "" && err != nil:
				t.Fatal(err)
			case tt.what != "" && (!errors.As(err, &pe) || pe.What != tt.what):
				t.Fatalf("want a %s disagreement, got %v", tt.what, err)
			}
		})
	}
}

func TestCheckPlatforms(t *testing.T) {
	built := &builder.Result{Platforms: []builder.PlatformDigest{{Platform: "linux/amd64"}, {Platform: "linux/arm64"}}}
	tests := []struct {
		name      string
		requested []string
		ok        bool
	}{
		{"none requested", nil, true},
		{"same, other order", []string{"linux/arm64", "linux/amd64"}, true},
		{"one missing", []string{"linux/amd64", "linux/arm64", "linux/s390x"}, false},
		{"one more built", []string{"linux/amd64"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkPlatforms(built, tt.requested); (err == nil) != tt.ok {
				t.Fatalf("checkPlatforms(%v) = %v, want ok=%v", tt.requested, err, tt.ok)
			}
		})
	}
}

func mustRepo(t *testing.T) name.Repository {
	t.Helper()
	r, err := name.NewRepository("reg.example/g/app")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
