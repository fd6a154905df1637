package signer_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// provenancePredicate is an SLSA v1 predicate naming builder.
func provenancePredicate(builder string) []byte {
	return []byte(`{"buildDefinition":{"buildType":"https://mobyproject.org/buildkit@v1"},"runDetails":{"builder":{"id":"` + builder + `"}}}`)
}

// attestations lists d's referrers that may be attestation bundles of
// predicateType.
func attestations(t *testing.T, reg *signertest.Registry, d name.Digest, predicateType string) []layout.Referrer {
	t.Helper()
	return referrersWhere(t, reg, d, func(desc v1.Descriptor) bool {
		return desc.Annotations[layout.AnnotationBundlePredicateType] == predicateType
	})
}

// storeEmptyConfig stores the empty config blob bundle referrers use in
// repo, as a signer does before its first bundle there.
func storeEmptyConfig(t *testing.T, reg *signertest.Registry, repo name.Repository) {
	t.Helper()
	empty := static.NewLayer([]byte(layout.EmptyJSON), types.MediaType(layout.EmptyMediaType))
	if err := remote.WriteLayer(repo, empty, reg.Options...); err != nil {
		t.Fatal(err)
	}
}

// TestAttestIdempotent: attesting the same predicate about the same
// digest again — sequentially or concurrently — adds nothing and asks the
// TSA nothing; another predicate, predicate type or identity adds one,
// and so does a stored attestation of the same statement whose signature
// does not verify (only what verifies counts as already there).
func TestAttestIdempotent(t *testing.T) {
	pt := layout.PredicateTypeSLSAProvenance1
	pred := provenancePredicate("https://ci.example/g/p/-/jobs/1")
	forBundleCases(t, func(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, id identity, d name.Digest) {
		s := bundleSigner(t, reg, ss, id, "")
		attest := func(s *signer.Signer, pt string, pred []byte) *signer.Attestation {
			t.Helper()
			a, err := s.Attest(t.Context(), signer.Subject{Digest: d}, pt, pred)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		first := attest(s, pt, pred)
		if first.Existing {
			t.Fatal("the first attestation is reported as already stored")
		}
		tsa := ss.TSARequests.Load()
		for _, again := range []*signer.Attestation{attest(s, pt, pred), attest(bundleSigner(t, reg, ss, id, ""), pt, pred)} {
			if !again.Existing || again.Ref != first.Ref || !bytes.Equal(again.Bundle, first.Bundle) {
				t.Fatalf("attesting again: existing %v, ref %s, want the stored %s", again.Existing, again.Ref, first.Ref)
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if a, err := s.Attest(t.Context(), signer.Subject{Digest: d}, pt, pred); err != nil || !a.Existing {
					t.Errorf("concurrent attest: %v, existing %v", err, a != nil && a.Existing)
				}
			})
		}
		wg.Wait()
		if ss.TSARequests.Load() != tsa {
			t.Error("an unnecessary attestation was timestamped")
		}
		if n := len(attestations(t, reg, d, pt)); n != 1 {
			t.Fatalf("%d attestations after attesting again, want 1", n)
		}

		other := id
		other.label += "-other"
		forged := provenancePredicate("https://ci.example/g/p/-/jobs/2")
		storeForged(t, reg, d, first.Bundle, pred, forged)
		for _, c := range []struct {
			what string
			s    *signer.Signer
			pt   string
			pred []byte
		}{
			{"another predicate", s, pt, provenancePredicate("https://ci.example/g/p/-/jobs/3")},
			{"the same predicate reformatted", s, pt, bytes.Replace(pred, []byte(`":{`), []byte(`": {`), 1)},
			{"another predicate type", s, "https://example.com/other/v1", pred},
			{"another identity or key", bundleSigner(t, reg, ss, other, ""), pt, pred},
			{"a stored copy whose signature does not verify", s, pt, forged},
		} {
			if attest(c.s, c.pt, c.pred).Existing {
				t.Errorf("%s: taken as already attested", c.what)
			}
		}
		// +1 forged, +4 of the slsa type (the other type is not counted).
		if n := len(attestations(t, reg, d, pt)); n != 6 {
			t.Fatalf("%d attestations, want 6", n)
		}
	})
}

// storeForged stores, as a referrer of d, a copy of the attestation bundle
// with its statement's predicate changed from old to forged: its
// signature no longer verifies.
func storeForged(t *testing.T, reg *signertest.Registry, d name.Digest, bundle, old, forged []byte) {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := json.Marshal(env["payload"]) // base64 in JSON
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(raw, old, forged, 1)
	if bytes.Equal(edited, raw) {
		t.Fatal("the predicate is not in the statement")
	}
	env["payload"] = edited
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	layer := static.NewLayer(out, layout.BundleMediaType)
	if err := remote.WriteLayer(d.Context(), layer, reg.Options...); err != nil {
		t.Fatal(err)
	}
	storeEmptyConfig(t, reg, d.Context())
	desc, err := remote.Head(d, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	h, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := layout.BundleManifest(*desc, v1.Descriptor{Digest: h, Size: int64(len(out))}, layout.PredicateTypeSLSAProvenance1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mh, _, err := v1.SHA256(bytes.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(d.Context().Digest(mh.String()), rawManifest(m), reg.Options...); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "dsseEnvelope"); n != 1 {
		t.Fatalf("forged bundle has %d envelopes", n)
	}
}

// rawManifest is an OCI manifest to put as it is.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
