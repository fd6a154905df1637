package layout

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Referrer is a manifest that refers to an image, and where it is listed.
type Referrer struct {
	Location   Location
	Descriptor v1.Descriptor
}

// ListReferrers lists the referrers of digest: those in the fallback index
// when fallback is set, and those the referrers API lists, when api is set
// and the registry has the API — both, since a registry may have gained
// the API after referrers were indexed there. A referrer listed in both
// places is returned once, as found in the fallback index. The options'
// puller must have go-containerregistry's tag fallback off
// (remote.WithReferrersTagFallback(false)), or the API listing repeats the
// fallback index.
func ListReferrers(digest name.Digest, ropts []remote.Option, api, fallback bool) ([]Referrer, error) {
	var fromIndex, fromAPI []v1.Descriptor
	var err error
	if fallback {
		if fromIndex, err = ReadFallbackIndex(digest, ropts); err != nil {
			return nil, err
		}
	}
	if api {
		if fromAPI, err = apiReferrers(digest, ropts); err != nil {
			return nil, err
		}
	}
	seen := map[v1.Hash]bool{}
	var out []Referrer
	add := func(descs []v1.Descriptor, l Location) {
		for _, d := range descs {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				out = append(out, Referrer{Location: l, Descriptor: d})
			}
		}
	}
	add(fromIndex, LocationFallback)
	add(fromAPI, LocationReferrers)
	return out, nil
}

// apiReferrers asks the referrers API; nil when the registry has none.
func apiReferrers(digest name.Digest, ropts []remote.Option) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(digest, ropts...)
	if NoReferrersAPI(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", digest, err)
	}
	return im.Manifests, nil
}

// ReadFallbackIndex reads the descriptors of the referrers tag-schema
// index of digest (FallbackTag); none when the tag does not exist.
func ReadFallbackIndex(digest name.Digest, ropts []remote.Option) ([]v1.Descriptor, error) {
	tag := FallbackTag(digest)
	idx, err := remote.Index(tag, ropts...)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading fallback index %s: %w", tag, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading fallback index %s: %w", tag, err)
	}
	return im.Manifests, nil
}
