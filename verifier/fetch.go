package verifier

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// Layout says where a signature was found.
type Layout string

// The layouts searched.
const (
	// LayoutLegacy is the "sha256-<hex>.sig" tag cosign v2 writes by default.
	LayoutLegacy Layout = "legacy"
	// LayoutReferrers is an OCI 1.1 referrer listed by the referrers API.
	LayoutReferrers Layout = "oci-1-1"
	// LayoutFallback is an OCI 1.1 referrer listed in the "sha256-<hex>"
	// fallback index (registries without the referrers API).
	LayoutFallback Layout = "oci-1-1-fallback"
)

// ArtifactType is the artifactType of cosign's signature referrers.
const ArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"

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
	search := func(l Layout) bool { return len(only) == 0 || slices.Contains(only, l) }
	var all []found
	if search(LayoutLegacy) {
		tag := digest.Context().Tag(strings.Replace(digest.DigestStr(), ":", "-", 1) + ".sig")
		sigs, err := readSignatures(tag, LayoutLegacy, ropts)
		if err != nil {
			return nil, err
		}
		all = sigs
	}
	refs, err := referrers(digest, ropts, search(LayoutReferrers), search(LayoutFallback))
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		sigs, err := readSignatures(r.ref, r.layout, ropts)
		if err != nil {
			return nil, err
		}
		all = append(all, sigs...)
	}
	return all, nil
}

type referrer struct {
	layout Layout
	ref    name.Digest
}

// referrers lists the signature referrers of digest: those the referrers
// API lists, when the registry has it, and those in the fallback index in
// any case, since a registry may have gained the API after signatures were
// indexed there. api and fallback say which of the two to ask.
func referrers(digest name.Digest, ropts []remote.Option, api, fallback bool) ([]referrer, error) {
	repo := digest.Context()
	var fromIndex, fromAPI []v1.Descriptor
	var err error
	if fallback {
		if fromIndex, err = fallbackIndex(digest, ropts); err != nil {
			return nil, err
		}
	}
	if api {
		if fromAPI, err = apiReferrers(digest, ropts); err != nil {
			return nil, err
		}
	}
	seen := map[v1.Hash]bool{}
	var out []referrer
	add := func(descs []v1.Descriptor, l Layout) {
		for _, d := range descs {
			if d.ArtifactType == ArtifactType && !seen[d.Digest] {
				seen[d.Digest] = true
				out = append(out, referrer{l, repo.Digest(d.Digest.String())})
			}
		}
	}
	add(fromIndex, LayoutFallback)
	add(fromAPI, LayoutReferrers)
	return out, nil
}

// apiReferrers asks the referrers API; nil when the registry has none.
// The options' puller must have ggcr's tag fallback off.
func apiReferrers(digest name.Digest, ropts []remote.Option) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(digest, ropts...)
	if err != nil && strings.Contains(err.Error(), "does not support the Referrers API") {
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

// fallbackIndex reads the referrers tag-schema index ("sha256-<hex>").
func fallbackIndex(digest name.Digest, ropts []remote.Option) ([]v1.Descriptor, error) {
	tag := digest.Context().Tag(strings.Replace(digest.DigestStr(), ":", "-", 1))
	idx, err := remote.Index(tag, ropts...)
	if isNotFound(err) {
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

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
