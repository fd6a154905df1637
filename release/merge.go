package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
)

// mergeIndex merges what the nodes pushed into one OCI index, pushed by
// digest (remote.Put: the manifests it lists are in the repository
// already) and not tagged. A node that pushed an index (a platform with
// attestations) contributes every manifest of it, the attestation
// manifests kept with their annotations; one that pushed a manifest, that
// manifest with the platform it was built for. A build's descriptors are
// read unless given (nodeBuild.descs).
func mergeIndex(ctx context.Context, req builder.Request, builds []nodeBuild) (*builder.Result, error) {
	repo := req.Tags[0].Context()
	opts := append(slices.Clone(req.RemoteOptions), remote.WithContext(ctx))
	// Each node's push is read in parallel; the index lists them in the
	// platforms' order.
	pushed := make([][]v1.Descriptor, len(builds))
	errs := parallel.ForEach(len(builds), parallel.Max, func(i int) (err error) {
		if pushed[i] = builds[i].descs; pushed[i] == nil {
			pushed[i], err = pushedDescriptors(repo, req.Platforms[i], builds[i].res, opts)
		}
		return err
	})
	var adds []mutate.IndexAddendum
	for i, descs := range pushed {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, d := range descs {
			adds = append(adds, mutate.IndexAddendum{Add: described{d}})
		}
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if ann := indexAnnotations(req.Annotations, len(req.Platforms) > 1); len(ann) > 0 {
		idx = mutate.Annotations(idx, ann).(v1.ImageIndex)
	}
	h, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("merging the platforms' manifests: %w", err)
	}
	size, err := idx.Size()
	if err != nil {
		return nil, fmt.Errorf("merging the platforms' manifests: %w", err)
	}
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, idx, opts...); err != nil {
		return nil, fmt.Errorf("pushing the merged index %s: %w", ref, err)
	}
	res := &builder.Result{Image: ref, Digest: h, MediaType: string(types.OCIImageIndex), Size: size,
		ExporterResponse: map[string]string{}}
	for _, t := range req.Tags {
		res.Tags = append(res.Tags, t.String())
	}
	res.Platforms = mergedPlatforms(adds)
	return res, nil
}

// mergedPlatforms are the platform manifests of the merged index, each
// with BuildKit's attestation manifest about it (its
// vnd.docker.reference.digest annotation names the manifest), as
// builder.Result reports a one-node multi-platform build.
func mergedPlatforms(adds []mutate.IndexAddendum) []builder.PlatformDigest {
	var out []builder.PlatformDigest
	attestations := map[string]*v1.Descriptor{}
	for _, a := range adds {
		d := a.Add.(described).d
		switch {
		case d.Annotations[builder.AnnotationReferenceType] == builder.ReferenceTypeAttestation:
			attestations[d.Annotations[builder.AnnotationReferenceDigest]] = &d
		case d.Platform != nil && d.Annotations[builder.AnnotationReferenceType] == "":
			out = append(out, builder.PlatformDigest{Platform: d.Platform.String(), Digest: d.Digest,
				MediaType: string(d.MediaType), Size: d.Size})
		}
	}
	for i := range out {
		out[i].Attestation = attestations[out[i].Digest.String()]
	}
	return out
}

// pushedDescriptors are the descriptors a node's push of platform adds to
// the merged index.
func pushedDescriptors(repo name.Repository, platform string, res *builder.Result, opts []remote.Option) ([]v1.Descriptor, error) {
	if len(res.Manifests) > 0 {
		return res.Manifests, nil // the node's index, as the build read it back
	}
	ref := repo.Digest(res.Digest.String())
	mt, size := types.MediaType(res.MediaType), res.Size
	if mt == "" || size == 0 {
		d, err := remote.Head(ref, opts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s's pushed manifest %s: %w", platform, ref, err)
		}
		mt, size = d.MediaType, d.Size
	}
	if mt.IsIndex() {
		idx, err := remote.Index(ref, opts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s's pushed index %s: %w", platform, ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading %s's pushed index %s: %w", platform, ref, err)
		}
		return im.Manifests, nil
	}
	p, err := platforms.Parse(platform)
	if err != nil {
		return nil, err
	}
	p = platforms.Normalize(p)
	return []v1.Descriptor{{MediaType: mt, Size: size, Digest: res.Digest,
		Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}}, nil
}

// described is a manifest already in the registry, appended to an index
// by its descriptor as it is (partial.Descriptor uses Descriptor).
type described struct{ d v1.Descriptor }

func (d described) Descriptor() (*v1.Descriptor, error) { v := d.d; return &v, nil }
func (d described) MediaType() (types.MediaType, error) { return d.d.MediaType, nil }
func (d described) Digest() (v1.Hash, error)            { return d.d.Digest, nil }
func (d described) Size() (int64, error)                { return d.d.Size, nil }

// indexAnnotations are the annotations of the merged index, as BuildKit
// would have put them on the index of a one-node build: index:KEY=VALUE,
// and KEY=VALUE when several platforms make an index. Request.Validate
// checked their form.
func indexAnnotations(anns []string, multiPlatform bool) map[string]string {
	out := map[string]string{}
	for _, a := range anns {
		lvl, rest, ok := strings.Cut(a, ":")
		switch {
		case ok && lvl == "index":
			a = rest
		case ok && lvl == "manifest", !multiPlatform:
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			out[k] = v
		}
	}
	return out
}

// nodeAnnotations are the annotations of one node's single-platform
// build: those of the manifests; the index's go on the merged index.
func nodeAnnotations(anns []string) []string {
	var out []string
	for _, a := range anns {
		if !strings.HasPrefix(a, "index:") {
			out = append(out, a)
		}
	}
	return out
}
