package verifier

import (
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/hallmark-dev/hallmark/layout"
)

// Layout says where a signature was found (layout.Location).
type Layout = layout.Location

// The layouts searched (see package layout).
const (
	LayoutLegacy    = layout.LocationLegacy
	LayoutReferrers = layout.LocationReferrers
	LayoutFallback  = layout.LocationFallback
)

// ArtifactType is the artifactType of cosign's simple-signing referrers.
const ArtifactType = layout.SimpleSigningArtifactType

// found is one signature and where it was found.
type found struct {
	layout Layout
	ref    string
	index  int
	sig    oci.Signature
}

// collect returns every signature of digest in every layout: the legacy
// tag, the referrers API and the fallback index (deduplicated by referrer
// manifest); with only, in those layouts alone.
func collect(digest name.Digest, ropts []remote.Option, only ...Layout) ([]found, error) {
	return collectUpTo(digest, ropts, newCandidates(0), only...)
}

// collectUpTo is collect examining at most c's cap of candidates.
func collectUpTo(digest name.Digest, ropts []remote.Option, c *candidates, only ...Layout) ([]found, error) {
	search := func(l Layout) bool { return len(only) == 0 || slices.Contains(only, l) }
	var all []found
	if search(LayoutLegacy) {
		sigs, err := readSignatures(layout.SignatureTag(digest), LayoutLegacy, ropts)
		if err != nil {
			return nil, err
		}
		all = capped(c, sigs, 0)
	}
	refs, err := referrers(digest, ropts, search(LayoutReferrers), search(LayoutFallback))
	if err != nil {
		return nil, err
	}
	refs = capped(c, refs, len(all))
	for _, r := range refs {
		sigs, err := readSignatures(r.ref, r.layout, ropts)
		if err != nil {
			return nil, err
		}
		all = append(all, sigs...)
	}
	return capped(c, all, 0), nil // a referrer may hold many layers
}

type referrer struct {
	layout Layout
	ref    name.Digest
}

// referrers lists the simple-signing referrers of digest: those the
// referrers API lists, when the registry has it, and those in the
// fallback index in any case, since a registry may have gained the API
// after signatures were indexed there. api and fallback say which of the
// two to ask.
func referrers(digest name.Digest, ropts []remote.Option, api, fallback bool) ([]referrer, error) {
	all, err := layout.ListReferrers(digest, ropts, api, fallback)
	if err != nil {
		return nil, err
	}
	var out []referrer
	for _, r := range all {
		if r.Descriptor.ArtifactType == ArtifactType {
			out = append(out, referrer{r.Location, digest.Context().Digest(r.Descriptor.Digest.String())})
		}
	}
	return out, nil
}

// readSignatures reads the signature layers of a signature manifest; a
// missing manifest has none.
func readSignatures(ref name.Reference, l Layout, ropts []remote.Option) ([]found, error) {
	sigs, err := ociremote.Signatures(ref, ociremote.WithRemoteOptions(ropts...))
	if err != nil {
		return nil, fmt.Errorf("reading signatures %s: %w", ref, err)
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, fmt.Errorf("reading signatures %s: %w", ref, err)
	}
	out := make([]found, len(list))
	for i, s := range list {
		out[i] = found{layout: l, ref: ref.String(), index: i, sig: s}
	}
	return out, nil
}
