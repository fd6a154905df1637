package release

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/parallel"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
)

// maxProvenanceSize bounds a provenance statement read from the registry.
const maxProvenanceSize = 16 << 20

// annotationPredicateType is BuildKit's annotation on an attestation
// manifest's layer: the in-toto predicate type of the statement it holds.
const annotationPredicateType = "in-toto.io/predicate-type"

// Provenance is one platform's provenance, as BuildKit pushed it and as
// the release signed it.
type Provenance struct {
	// Platform is the platform built (os/arch[/variant]).
	Platform string
	// Manifest is the platform's image manifest: the statement's subject.
	Manifest name.Digest
	// AttestationManifest is BuildKit's attestation manifest holding it.
	AttestationManifest signer.Subject
	// Statement is BuildKit's statement; its predicate byte for byte.
	Statement layout.Statement
	// Attestation is the cosign attestation bundle stored as a referrer
	// of Manifest (set once signed).
	Attestation *signer.Attestation
}

// ProvenanceError reports provenance that disagrees with the build or
// the CI job: nothing is signed.
type ProvenanceError struct {
	Platform string
	What     string // e.g. "builder id"
	Want     string // what the build or the job says
	Got      string // what the provenance says
}

func (e *ProvenanceError) Error() string {
	where := ""
	if e.Platform != "" {
		where = " of " + e.Platform
	}
	return fmt.Sprintf("provenance%s: %s is %q, want %q; nothing signed", where, e.What, e.Got, e.Want)
}

// readProvenances reads each platform's SLSA v1 provenance from BuildKit's
// attestation manifests and checks it is consistent with the request
// (checkPlatforms, checkProvenance), the platforms in parallel (bounded).
func readProvenances(ctx context.Context, ropts []remote.Option, built *builder.Result, req builder.Request) ([]Provenance, error) {
	if err := checkPlatforms(built, req.Platforms); err != nil {
		return nil, err
	}
	out := make([]Provenance, len(built.Platforms))
	errs := parallel.ForEach(len(out), parallel.Max, func(i int) (err error) {
		if out[i], err = readProvenance(ctx, ropts, built.Image.Context(), built.Platforms[i]); err != nil {
			return err
		}
		return checkProvenance(out[i], req.Provenance)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err // the first in the platforms' order, as one by one
		}
	}
	return out, nil
}

// checkPlatforms checks the platforms built are those requested (when
// the request names them).
func checkPlatforms(built *builder.Result, requested []string) error {
	var got, want []string
	for _, p := range built.Platforms {
		got = append(got, p.Platform)
	}
	for _, r := range requested {
		p, err := platforms.Parse(r)
		if err != nil {
			return err
		}
		want = append(want, platforms.Format(platforms.Normalize(p)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(got) == 0 || (len(want) > 0 && !slices.Equal(got, want)) {
		return &ProvenanceError{What: "platforms built", Want: strings.Join(want, ","), Got: strings.Join(got, ",")}
	}
	return nil
}

// readProvenance reads the platform's attestation manifest and the SLSA v1
// statement in it.
func readProvenance(ctx context.Context, ropts []remote.Option, repo name.Repository, p builder.PlatformDigest) (Provenance, error) {
	pv := Provenance{Platform: p.Platform, Manifest: repo.Digest(p.Digest.String())}
	if p.Attestation == nil {
		return pv, &ProvenanceError{Platform: p.Platform, What: "attestation manifest", Want: "BuildKit's", Got: "none in the index"}
	}
	ref := repo.Digest(p.Attestation.Digest.String())
	pv.AttestationManifest = signer.Subject{Digest: ref, MediaType: p.Attestation.MediaType, Size: p.Attestation.Size}
	img, err := remote.Image(ref, append(ropts, remote.WithContext(ctx))...)
	if err != nil {
		return pv, fmt.Errorf("reading the attestation manifest %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return pv, fmt.Errorf("reading the attestation manifest %s: %w", ref, err)
	}
	for _, l := range m.Layers {
		if l.Annotations[annotationPredicateType] != layout.PredicateTypeSLSAProvenance1 {
			continue
		}
		if pv.Statement, err = readStatement(img, l, maxProvenanceSize, "the provenance statement"); err != nil {
			return pv, fmt.Errorf("reading the provenance in %s: %w", ref, err)
		}
		return pv, nil
	}
	return pv, &ProvenanceError{Platform: p.Platform, What: "SLSA v1 provenance in " + ref.String(), Want: layout.PredicateTypeSLSAProvenance1, Got: "none"}
}

// readStatement reads the in-toto statement in layer d of a BuildKit
// attestation manifest, at most max bytes (what names it in errors).
func readStatement(img v1.Image, d v1.Descriptor, max int64, what string) (layout.Statement, error) {
	if d.Size > max || d.MediaType != types.MediaType(layout.InTotoPayloadType) {
		return layout.Statement{}, fmt.Errorf("layer %s: %s of %d bytes", d.Digest, d.MediaType, d.Size)
	}
	l, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return layout.Statement{}, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return layout.Statement{}, err
	}
	defer rc.Close()
	b, err := limits.ReadAll(rc, max, what)
	if err != nil {
		return layout.Statement{}, err
	}
	return layout.ParseAttestation(b)
}

// checkCertified checks the job context BuildKit is given for the
// provenance against what the signing certificate certifies: the run (the
// builder id), the source and the revision. Only what both know is
// compared: outside a CI job the context is empty (BuildKit records its
// own), and a key or a person's certificate certifies nothing. A release
// checks it before it pushes.
func checkCertified(want *builder.Provenance, cert *x509.Certificate) error {
	if want == nil || cert == nil {
		return nil
	}
	c, err := ci.CertifiedByCertificate(cert)
	if err != nil {
		return err
	}
	for _, f := range []struct{ what, want, certified string }{
		{"builder id", want.BuilderID, c.RunURL()},
		{"VCS source", want.VCSSource, c.Values[ci.KeySource]},
		{"VCS revision", want.VCSRevision, c.Values[ci.KeyRevision]},
	} {
		if f.certified != "" && f.want != "" && f.want != f.certified {
			return &ProvenanceError{What: f.what + " asked of BuildKit", Want: f.certified + " (certified)", Got: f.want}
		}
	}
	return nil
}

// checkProvenance is the consistency gate: the statement is SLSA v1
// about the pushed platform manifest, and its builder id and VCS source
// and revision are the job's (want: the request's, from the CI
// environment, whose values the signing certificate certifies).
func checkProvenance(pv Provenance, want *builder.Provenance) error {
	st := pv.Statement
	if st.PredicateType != layout.PredicateTypeSLSAProvenance1 {
		return &ProvenanceError{Platform: pv.Platform, What: "predicate type", Want: layout.PredicateTypeSLSAProvenance1, Got: st.PredicateType}
	}
	if st.Digest.String() != pv.Manifest.DigestStr() {
		return &ProvenanceError{Platform: pv.Platform, What: "subject", Want: pv.Manifest.DigestStr(), Got: st.Digest.String()}
	}
	f, err := layout.ParseProvenance(st.Predicate)
	if err != nil {
		return fmt.Errorf("provenance of %s: %w", pv.Platform, err)
	}
	if want == nil {
		return nil
	}
	for _, c := range []struct{ what, want, got string }{
		{"builder id", want.BuilderID, f.BuilderID},
		{"VCS source", want.VCSSource, f.VCSSource},
		{"VCS revision", want.VCSRevision, f.VCSRevision},
	} {
		if c.want != "" && c.got != c.want {
			return &ProvenanceError{Platform: pv.Platform, What: c.what, Want: c.want, Got: c.got}
		}
	}
	return nil
}

// platformSubject is the built platform manifest m as a subject to attest.
func platformSubject(built *builder.Result, m name.Digest) signer.Subject {
	sub := signer.Subject{Digest: m}
	for _, p := range built.Platforms {
		if p.Digest.String() == m.DigestStr() {
			sub.MediaType, sub.Size = types.MediaType(p.MediaType), p.Size
		}
	}
	return sub
}

// attestAfterSigning is signAll's then for a release with provenance:
// when the subject signed is a platform's manifest, it signs that
// platform's provenance as a cosign attestation of the manifest,
// BuildKit's predicate byte for byte (one provenance per platform
// manifest: checkPlatforms). nil without provenance.
func attestAfterSigning(ctx context.Context, s *signer.Signer, built *builder.Result, subjects []signer.Subject, provs []Provenance) func(int) error {
	if len(provs) == 0 {
		return nil
	}
	of := map[string]int{} // manifest digest → its provenance
	for i, p := range provs {
		of[p.Manifest.DigestStr()] = i
	}
	return func(i int) error {
		j, ok := of[subjects[i].Digest.DigestStr()]
		if !ok {
			return nil
		}
		a, err := s.Attest(ctx, platformSubject(built, provs[j].Manifest), layout.PredicateTypeSLSAProvenance1, provs[j].Statement.Predicate)
		provs[j].Attestation = a
		return err
	}
}
