package cli

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verifier"
)

// verifyProvenance checks the signed provenance of each platform manifest
// of digest (the digest itself when it is one manifest) and prints one
// summary line per platform on stderr.
func verifyProvenance(c *cli.Context, e *env, reg *registry.Registry, v *verifier.Verifier, digest name.Digest) error {
	manifests, err := platformManifests(c, reg, digest)
	if err != nil {
		return err
	}
	for _, m := range manifests {
		p, err := v.VerifyProvenance(c.Context, m.digest)
		if err != nil {
			return fmt.Errorf("provenance of %s: %w", m.platform, err)
		}
		fmt.Fprintf(e.stderr, "hallmark: provenance of %s (%s): source %s, revision %s, builder %s, trigger %s, %d materials [%s]\n",
			m.platform, m.digest.DigestStr(), firstNonEmpty(p.VCSSource, "-"), firstNonEmpty(p.VCSRevision, "-"),
			firstNonEmpty(p.BuilderID, "-"), firstNonEmpty(p.BuildTrigger, "-"),
			len(p.Materials), strings.Join(p.Materials, " "))
	}
	return nil
}

type platformManifest struct {
	platform string
	digest   name.Digest
}

// platformManifests lists an index's platform manifests, leaving out
// BuildKit's attestation manifests; a manifest is its own.
func platformManifests(c *cli.Context, reg *registry.Registry, digest name.Digest) ([]platformManifest, error) {
	desc, err := remote.Get(digest, reg.RemoteOptions(c.Context)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", digest, err)
	}
	if !desc.MediaType.IsIndex() {
		return []platformManifest{{platform: "the image", digest: digest}}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", digest, err)
	}
	var out []platformManifest
	for _, m := range im.Manifests {
		if m.Annotations[builder.AnnotationReferenceType] == builder.ReferenceTypeAttestation || m.Platform == nil {
			continue
		}
		p := platforms.Format(platforms.Normalize(platforms.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}))
		out = append(out, platformManifest{platform: p, digest: digest.Context().Digest(m.Digest.String())})
	}
	return out, nil
}
