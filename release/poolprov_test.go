package release

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// nodePush is what a pool node's push by digest holds for one platform.
type nodePush struct {
	platform string // the platform the node built
	// provenance says what its attestation manifest records; nil pushes
	// the platform's manifest alone.
	provenance *builder.Provenance
	// otherSubject makes the statement about another manifest.
	otherSubject bool
}

// push pushes n to reg's repo by digest as BuildKit does: an index of the
// platform's manifest and its attestation manifest (platform
// unknown/unknown, annotated with the manifest's digest), holding an SLSA
// v1 statement; or the manifest alone.
func (n nodePush) push(t *testing.T, reg *signertest.Registry, repo name.Repository) nodeBuild {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	h := mustDigest(t, img)
	p, err := v1.ParsePlatform(n.platform)
	if err != nil {
		t.Fatal(err)
	}
	if n.provenance == nil {
		if err := remote.Write(repo.Digest(h.String()), img, reg.Options...); err != nil {
			t.Fatal(err)
		}
		return nodeBuild{res: &builder.Result{Digest: h}}
	}
	subject := h
	if n.otherSubject {
		subject = v1.Hash{Algorithm: "sha256", Hex: h.Hex[1:] + "0"}
	}
	idx := attestedIndex(t, img, p, subject,
		[]byte(`{"runDetails":{"builder":{"id":"`+n.provenance.BuilderID+`"},"metadata":{"buildkit_metadata":{"vcs":{"source":"`+
			n.provenance.VCSSource+`","revision":"`+n.provenance.VCSRevision+`"}}}}}`))
	ih := mustDigest(t, idx)
	if err := remote.WriteIndex(repo.Digest(ih.String()), idx, reg.Options...); err != nil {
		t.Fatal(err)
	}
	return nodeBuild{res: &builder.Result{Digest: ih, MediaType: string(types.OCIImageIndex)}}
}

// TestPoolProvenanceGate: the index merged from what the nodes pushed
// keeps each platform's attestation manifest, annotated with the digest
// of its platform's manifest, and the consistency gate a one-node release
// runs before signing reads each platform's provenance through it — and
// refuses a node that pushed none, provenance by another builder or of
// another revision, a statement about another manifest, and a node that
// built another platform than the one asked of it.
func TestPoolProvenanceGate(t *testing.T) {
	want := &builder.Provenance{BuilderID: "https://gl.example/g/app/-/jobs/7", VCSSource: "https://gl.example/g/app", VCSRevision: "0123abc"}
	other := func(f func(*builder.Provenance)) *builder.Provenance { p := *want; f(&p); return &p }
	requested := []string{"linux/amd64", "linux/arm64"}
	tests := []struct {
		name  string
		nodes []nodePush
		what  string // the ProvenanceError's What; "" when the gate passes
	}{
		{"consistent", []nodePush{{platform: "linux/amd64", provenance: want}, {platform: "linux/arm64", provenance: want}}, ""},
		{"a node without provenance", []nodePush{{platform: "linux/amd64", provenance: want}, {platform: "linux/arm64"}}, "attestation manifest"},
		{"another builder", []nodePush{{platform: "linux/amd64", provenance: want},
			{platform: "linux/arm64", provenance: other(func(p *builder.Provenance) { p.BuilderID = "https://evil/run" })}}, "builder id"},
		{"another revision", []nodePush{{platform: "linux/amd64", provenance: other(func(p *builder.Provenance) { p.VCSRevision = "fff" })},
			{platform: "linux/arm64", provenance: want}}, "VCS revision"},
		{"about another manifest", []nodePush{{platform: "linux/amd64", provenance: want},
			{platform: "linux/arm64", provenance: want, otherSubject: true}}, "subject"},
		{"another platform built", []nodePush{{platform: "linux/amd64", provenance: want}, {platform: "linux/s390x", provenance: want}}, "platforms built"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := signertest.NewRegistry(t, false)
			tag, err := name.NewTag(reg.Host + "/app:v1")
			if err != nil {
				t.Fatal(err)
			}
			var builds []nodeBuild
			for _, n := range tt.nodes {
				builds = append(builds, n.push(t, reg, tag.Context()))
			}
			req := builder.Request{Tags: []name.Tag{tag}, Platforms: requested, RemoteOptions: reg.Options, Provenance: want}
			merged, err := mergeIndex(t.Context(), req, builds)
			if err != nil {
				t.Fatal(err)
			}
			checkMergedAttestations(t, reg, merged, tt.nodes)
			provs, err := readProvenances(t.Context(), reg.Options, merged, req)
			var pe *ProvenanceError
			switch {
			case tt.what == "" && err != nil:
				t.Fatal(err)
			case tt.what != "" && (!errors.As(err, &pe) || pe.What != tt.what):
				t.Fatalf("want a %s disagreement, got %v", tt.what, err)
			case tt.what != "":
				return
			}
			if len(provs) != len(requested) {
				t.Fatalf("%d platforms' provenance, want %d", len(provs), len(requested))
			}
			for i, p := range provs {
				if p.Platform != merged.Platforms[i].Platform || p.Manifest.DigestStr() != merged.Platforms[i].Digest.String() ||
					p.AttestationManifest.Digest.DigestStr() != merged.Platforms[i].Attestation.Digest.String() {
					t.Errorf("provenance %d is %s of %s in %s; want the merged index's platform %+v", i, p.Platform, p.Manifest, p.AttestationManifest.Digest, merged.Platforms[i])
				}
			}
		})
	}
}

// checkMergedAttestations checks the merged index lists, for each node
// that pushed provenance, its attestation manifest annotated with the
// digest of a platform manifest of the index, and that the result's
// platforms carry it.
func checkMergedAttestations(t *testing.T, reg *signertest.Registry, merged *builder.Result, nodes []nodePush) {
	t.Helper()
	idx, err := remote.Index(merged.Image, reg.Options...)
	if err != nil {
		t.Fatalf("the merged index was not pushed: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	manifests := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Annotations[builder.AnnotationReferenceType] == "" {
			manifests[m.Digest.String()] = true
		}
	}
	attested := map[string]string{} // platform manifest → attestation manifest
	for _, m := range im.Manifests {
		if m.Annotations[builder.AnnotationReferenceType] != builder.ReferenceTypeAttestation {
			continue
		}
		about := m.Annotations[builder.AnnotationReferenceDigest]
		if !manifests[about] {
			t.Errorf("attestation manifest %s is about %q, not a platform manifest of the index", m.Digest, about)
		}
		attested[about] = m.Digest.String()
	}
	withProvenance := 0
	for _, n := range nodes {
		if n.provenance != nil {
			withProvenance++
		}
	}
	if len(attested) != withProvenance || len(merged.Platforms) != len(nodes) {
		t.Fatalf("merged %d attestation manifests and %d platforms, want %d and %d", len(attested), len(merged.Platforms), withProvenance, len(nodes))
	}
	for _, p := range merged.Platforms {
		got := ""
		if p.Attestation != nil {
			got = p.Attestation.Digest.String()
		}
		if got != attested[p.Digest.String()] {
			t.Errorf("%s's attestation is %q in the result, %q in the index", p.Platform, got, attested[p.Digest.String()])
		}
	}
}

// TestNodeOf: the node of a platform, found whatever form the platform
// was requested in.
func TestNodeOf(t *testing.T) {
	res := &Result{Nodes: []PlatformNode{{Platform: "linux/amd64", Node: "bed"}, {Platform: "linux/arm64/v8", Node: "arm"}, {Platform: "linux/arm/v7", Node: "pool"}}}
	tests := []struct{ platform, node string }{
		{"linux/amd64", "bed"},
		{"linux/arm64", "arm"},
		{"linux/arm/v7", "pool"},
		{"linux/arm/v6", ""},
		{"linux/s390x", ""},
		{"not a platform!", ""},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			if got := res.NodeOf(tt.platform); got != tt.node {
				t.Errorf("NodeOf(%q) = %q, want %q", tt.platform, got, tt.node)
			}
		})
	}
	if got := (&Result{}).NodeOf("linux/amd64"); got != "" {
		t.Errorf("a one-node release's NodeOf = %q, want none", got)
	}
}

// TestPoolProvenanceNeedsBundle: a pool release with provenance and
// simple signing only is refused as a one-node release is, before any
// node is contacted.
func TestPoolProvenanceNeedsBundle(t *testing.T) {
	o := Options{
		Pool: []pool.Node{{Connect: builder.ConnectOptions{Addr: "tcp://192.0.2.1:1234"}}, {Connect: builder.ConnectOptions{Addr: "tcp://192.0.2.2:1234"}}},
		Build: BuildOptions{Request: builder.Request{ContextDir: t.TempDir(), Provenance: &builder.Provenance{}, Platforms: []string{"linux/amd64"}}, Tags: []string{"reg.example/app:v1"},
			Registry: registry.New(registry.Config{})},
	}
	_, err := Run(t.Context(), o)
	if StageOf(err) != StageUsage || err == nil || !strings.Contains(err.Error(), "a bundle attestation") {
		t.Fatalf("want a usage error naming the bundle format, got %v", err)
	}
}
