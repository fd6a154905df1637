package verifier

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/hallmark-dev/hallmark/layout"
)

// Layout says where a signature was found (layout.Location).
type Layout = layout.Location

// The layouts searched (see package layout).
const (
	// LayoutLegacy is the legacy "sha256-<hex>.sig" tag (simple signing).
	LayoutLegacy = layout.LocationLegacy
	// LayoutReferrers is a simple-signing referrer listed by the referrers
	// API.
	LayoutReferrers = layout.LocationReferrers
	// LayoutFallback is a simple-signing referrer listed in the fallback
	// index.
	LayoutFallback = layout.LocationFallback
	// LayoutBundleReferrers is a Sigstore bundle referrer (cosign v3's
	// format) listed by the referrers API.
	LayoutBundleReferrers = layout.LocationBundleReferrers
	// LayoutBundleFallback is a Sigstore bundle referrer listed in the
	// fallback index.
	LayoutBundleFallback = layout.LocationBundleFallback
)

// Format is the format of a signature.
type Format string

// The signature formats read.
const (
	// FormatSimpleSigning is cosign v2's simple-signing payload with its
	// signature, in the legacy tag or a referrer.
	FormatSimpleSigning Format = "simple-signing"
	// FormatBundle is cosign v3's Sigstore bundle (v0.3) holding a DSSE
	// envelope of an in-toto signing statement, in a referrer.
	FormatBundle Format = "bundle"
)

// FormatOf returns the format of the signatures found in layout l.
func FormatOf(l Layout) Format {
	if l == LayoutBundleReferrers || l == LayoutBundleFallback {
		return FormatBundle
	}
	return FormatSimpleSigning
}

// ArtifactType is the artifactType of cosign's simple-signing referrers.
const ArtifactType = layout.SimpleSigningArtifactType

// found is one signature and where it was found: a simple-signing
// signature (sig), a bundle, or a bundle referrer that could not be read
// (readErr).
type found struct {
	layout  Layout
	ref     string
	index   int
	sig     oci.Signature
	bundle  *sgbundle.Bundle
	readErr error
}

// Unreadable is a layout whose listing could not be read: the legacy
// signature tag (LayoutLegacy), the referrers API's listing
// (LayoutReferrers) or the fallback index (LayoutFallback), each for both
// formats. Verification decides on the signatures of the other layouts,
// as cosign does when it reads one layout of several.
type Unreadable struct {
	Layout Layout
	Err    error
}

func (u Unreadable) Error() string { return fmt.Sprintf("%s unreadable: %v", u.Layout, u.Err) }
func (u Unreadable) Unwrap() error { return u.Err }

// collect returns every signature of digest in every layout: the legacy
// tag, simple-signing and bundle referrers listed by the referrers API and
// the fallback index (deduplicated by referrer manifest); with only, in
// those layouts alone. A referrer that cannot be read is returned with
// its error, as that signature's failure; a layout whose listing cannot
// be read, in unreadable.
func collect(digest name.Digest, ropts []remote.Option, only ...Layout) ([]found, []Unreadable) {
	return collectUpTo(digest, ropts, newCandidates(0), only...)
}

// collectUpTo is collect examining at most c's cap of candidates.
func collectUpTo(digest name.Digest, ropts []remote.Option, c *candidates, only ...Layout) (all []found, unreadable []Unreadable) {
	search := func(l Layout) bool { return len(only) == 0 || slices.Contains(only, l) }
	if search(LayoutLegacy) {
		sigs, err := readSignatures(layout.SignatureTag(digest), LayoutLegacy, ropts)
		if err != nil {
			unreadable = append(unreadable, Unreadable{LayoutLegacy, err})
		}
		all = capped(c, sigs, 0)
	}
	refs, bad := referrers(digest, ropts, search)
	unreadable = append(unreadable, bad...)
	refs = capped(c, refs, len(all))
	for _, r := range refs {
		if FormatOf(r.layout) == FormatBundle {
			b, err := layout.ReadBundleReferrer(r.ref, r.size, ropts)
			if r.maybe && errors.Is(err, layout.ErrNotBundleReferrer) {
				continue // another artifact with an empty config
			}
			all = append(all, found{layout: r.layout, ref: r.ref.String(), bundle: b, readErr: err})
			continue
		}
		sigs, err := readSignatures(r.ref, r.layout, ropts)
		if err != nil {
			all = append(all, found{layout: r.layout, ref: r.ref.String(), readErr: err})
			continue
		}
		all = append(all, sigs...)
	}
	return capped(c, all, 0), unreadable // a referrer may hold many layers
}

type referrer struct {
	layout Layout
	ref    name.Digest
	size   int64
	maybe  bool // maybe a bundle: only its manifest tells
}

// referrers lists the signature referrers of digest in the layouts
// searched: simple-signing and bundle referrers the referrers API lists,
// when the registry has it, and those in the fallback index in any case,
// since a registry may have gained the API after signatures were indexed
// there. A referrer in both is listed once, as found in the fallback
// index. A listing that cannot be read is returned in unreadable.
func referrers(digest name.Digest, ropts []remote.Option, search func(Layout) bool) (out []referrer, unreadable []Unreadable) {
	seen := map[string]bool{}
	for _, where := range []struct {
		l             Layout
		api, fallback bool
	}{{LayoutFallback, false, true}, {LayoutReferrers, true, false}} {
		if !search(where.l) && !search(layout.BundleLocation(where.l)) {
			continue
		}
		all, err := layout.ListReferrers(digest, ropts, where.api, where.fallback)
		if err != nil {
			unreadable = append(unreadable, Unreadable{where.l, err})
			continue
		}
		for _, r := range all {
			if seen[r.Descriptor.Digest.String()] {
				continue
			}
			seen[r.Descriptor.Digest.String()] = true
			l, maybe := r.Location, false
			switch {
			case r.Descriptor.ArtifactType == ArtifactType:
			case layout.IsBundleReferrer(r.Descriptor):
				l = layout.BundleLocation(l)
			case layout.MayBeBundleReferrer(r.Descriptor):
				l, maybe = layout.BundleLocation(l), true
			default:
				continue
			}
			if search(l) {
				out = append(out, referrer{l, digest.Context().Digest(r.Descriptor.Digest.String()), r.Descriptor.Size, maybe})
			}
		}
	}
	return out, unreadable
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
