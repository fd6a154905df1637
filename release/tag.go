package release

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/registry"
)

// tagAll points every tag at img, the pushed (and by now signed and
// verified) manifest or index: it reads the manifest's bytes once, by
// digest, and PUTs the same bytes under each tag, one request per tag, in
// the order given. The tags' repositories hold the digest already (the
// build pushed it by digest to each). A tag written before a failure stays:
// it names the signed image, as every tag must.
func tagAll(ctx context.Context, reg *registry.Registry, img name.Digest, tags []name.Tag) error {
	opts := reg.RemoteOptions(ctx)
	desc, err := remote.Get(img, opts...)
	if err != nil {
		return fmt.Errorf("reading the signed manifest %s to tag it: %w", img, err)
	}
	for _, t := range tags {
		if err := remote.Tag(t, desc, opts...); err != nil {
			return fmt.Errorf("tagging %s as %s: %w", img.DigestStr(), t, err)
		}
	}
	return nil
}
