package testutil

import (
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/layout"
)

// Attestations counts the attestation bundles of predicateType listed as
// referrers of d (the referrers API or the fallback index), read with
// opts.
func Attestations(t testing.TB, d name.Digest, opts []remote.Option, predicateType string) int {
	t.Helper()
	refs, err := layout.ListReferrers(d, append(slices.Clone(opts), remote.WithReferrersTagFallback(false)), true, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range refs {
		if r.Descriptor.Annotations[layout.AnnotationBundlePredicateType] == predicateType {
			n++
		}
	}
	return n
}
