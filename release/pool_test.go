package release

import (
	"maps"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestMergeIndex merges what two nodes pushed by digest — a manifest, and
// an index (a platform with its attestation manifest) — into one index,
// pushed by digest and not tagged, with the index annotations on it.
func TestMergeIndex(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	img := reg.Image(t, "app")
	idx, children := reg.Index(t, "app", 2)
	tag, err := name.NewTag(reg.Host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	req := builder.Request{Tags: []name.Tag{tag}, Platforms: []string{"linux/amd64", "linux/arm64"},
		Annotations: []string{"index:org.example.a=1", "manifest:org.example.b=2", "org.example.c=3"}, RemoteOptions: reg.Options}
	hash := func(d name.Digest) v1.Hash {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// The node that pushed an index: read from the registry, or as its
	// build read it back (builder.Result.Manifests).
	readBack, err := remote.Index(idx, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	readBackManifest, err := readBack.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		manifests []v1.Descriptor
	}{{"read from the registry", nil}, {"as the build read it back", readBackManifest.Manifests}} {
		t.Run(tt.name, func(t *testing.T) {
			builds := []nodeBuild{{res: &builder.Result{Digest: hash(img)}}, {res: &builder.Result{Digest: hash(idx), Manifests: tt.manifests}}}
			checkMerged(t, reg, req, tag, builds, []string{img.DigestStr(), children[0].DigestStr(), children[1].DigestStr()})
		})
	}
}

// checkMerged merges builds and checks the index pushed by digest lists
// want in order, with the node's manifest's platform and the index's
// annotations, untagged.
func checkMerged(t *testing.T, reg *signertest.Registry, req builder.Request, tag name.Tag, builds []nodeBuild, want []string) {
	t.Helper()
	res, err := mergeIndex(t.Context(), req, builds)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := remote.Index(res.Image, reg.Options...)
	if err != nil {
		t.Fatalf("the merged index was not pushed by digest: %v", err)
	}
	im, err := merged.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(want) {
		t.Fatalf("%d manifests, want %d", len(im.Manifests), len(want))
	}
	for i, m := range im.Manifests {
		if m.Digest.String() != want[i] {
			t.Errorf("manifest %d is %s, want %s", i, m.Digest, want[i])
		}
	}
	if p := im.Manifests[0].Platform; p == nil || p.String() != "linux/amd64" {
		t.Errorf("the node's manifest has platform %v, want linux/amd64", p)
	}
	if wantAnn := map[string]string{"org.example.a": "1", "org.example.c": "3"}; !maps.Equal(im.Annotations, wantAnn) {
		t.Errorf("index annotations %v, want %v", im.Annotations, wantAnn)
	}
	if len(res.Platforms) != 1 || res.Platforms[0].Platform != "linux/amd64" || res.Tags[0] != tag.String() {
		t.Errorf("result platforms %+v tags %v", res.Platforms, res.Tags)
	}
	if _, err := remote.Head(tag, reg.Options...); err == nil {
		t.Error("the merged index was tagged before signing")
	}
}

// TestRegistryCache: the cache ref of each build, next to the image.
func TestRegistryCache(t *testing.T) {
	repo, err := name.NewRepository("registry.example/group/app")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		platforms []string
		insecure  bool
		from, to  string
	}{
		{nil, false, "type=registry,ref=registry.example/group/app/buildcache:default",
			"type=registry,ref=registry.example/group/app/buildcache:default,mode=max,ignore-error=true"},
		{[]string{"linux/arm/v7"}, false, "type=registry,ref=registry.example/group/app/buildcache:linux-arm-v7",
			"type=registry,ref=registry.example/group/app/buildcache:linux-arm-v7,mode=max,ignore-error=true"},
		{[]string{"linux/amd64", "linux/arm64"}, true, "type=registry,ref=registry.example/group/app/buildcache:linux-amd64_linux-arm64,registry.insecure=true",
			"type=registry,ref=registry.example/group/app/buildcache:linux-amd64_linux-arm64,mode=max,ignore-error=true,registry.insecure=true"},
	}
	for _, tt := range tests {
		t.Run(CacheTag(tt.platforms), func(t *testing.T) {
			from, to := registryCache(repo, tt.platforms, tt.insecure)
			if from != tt.from || to != tt.to {
				t.Errorf("got\n%s\n%s\nwant\n%s\n%s", from, to, tt.from, tt.to)
			}
		})
	}
}
