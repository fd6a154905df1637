package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
)

// maxSBOMSize bounds an SBOM statement read from the registry: BuildKit's
// own bound on an attestation (exporter/attestation maxAttestationBytes).
const maxSBOMSize = 80 << 20

// SBOM is one platform's SPDX SBOM, as BuildKit's generator made it and
// as the release signed it.
type SBOM struct {
	// Platform is the platform built (os/arch[/variant]).
	Platform string
	// Manifest is the platform's image manifest: the statement's subject.
	Manifest name.Digest
	// AttestationManifest is BuildKit's attestation manifest holding it.
	AttestationManifest signer.Subject
	// Statement is BuildKit's statement; its predicate (the SPDX
	// document) byte for byte.
	Statement layout.Statement
	// Packages is how many packages the document lists.
	Packages int
	// Attestation is the cosign attestation bundle stored as a referrer
	// of Manifest (set once signed).
	Attestation *signer.Attestation
}

// SBOMError reports an SBOM that is missing or not about what was pushed:
// nothing is signed.
type SBOMError struct {
	Platform string
	What     string // e.g. "subject"
	Want     string
	Got      string
}

func (e *SBOMError) Error() string {
	return fmt.Sprintf("SBOM of %s: %s is %q, want %q; nothing signed", e.Platform, e.What, e.Got, e.Want)
}

// readSBOMs reads each platform's SPDX SBOMs from BuildKit's attestation
// manifests (one per scanned filesystem; BuildKit scans the final one) and
// checks each is an SPDX document about the pushed platform manifest.
func readSBOMs(ctx context.Context, ropts []remote.Option, built *builder.Result) ([]SBOM, error) {
	var out []SBOM
	for _, p := range built.Platforms {
		sboms, err := readSBOM(ctx, ropts, built.Image.Context(), p)
		if err != nil {
			return nil, err
		}
		out = append(out, sboms...)
	}
	if len(out) == 0 {
		return nil, &SBOMError{What: "platforms built", Want: "one or more", Got: "none"}
	}
	return out, nil
}

// readSBOM reads the SPDX statements of the platform's attestation
// manifest.
func readSBOM(ctx context.Context, ropts []remote.Option, repo name.Repository, p builder.PlatformDigest) ([]SBOM, error) {
	if p.Attestation == nil {
		return nil, &SBOMError{Platform: p.Platform, What: "attestation manifest", Want: "BuildKit's", Got: "none in the index"}
	}
	ref := repo.Digest(p.Attestation.Digest.String())
	att := signer.Subject{Digest: ref, MediaType: p.Attestation.MediaType, Size: p.Attestation.Size}
	img, err := remote.Image(ref, append(ropts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("reading the attestation manifest %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the attestation manifest %s: %w", ref, err)
	}
	var out []SBOM
	for _, l := range m.Layers {
		if l.Annotations[annotationPredicateType] != layout.PredicateTypeSPDX {
			continue
		}
		s := SBOM{Platform: p.Platform, Manifest: repo.Digest(p.Digest.String()), AttestationManifest: att}
		if s.Statement, err = readStatement(img, l, maxSBOMSize, "the SBOM statement"); err != nil {
			return nil, fmt.Errorf("reading the SBOM in %s: %w", ref, err)
		}
		if err := checkSBOM(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, &SBOMError{Platform: p.Platform, What: "SPDX SBOM in " + ref.String(), Want: layout.PredicateTypeSPDX, Got: "none"}
	}
	return out, nil
}

// checkSBOM checks the statement is an SPDX document about the pushed
// platform manifest, and counts its packages.
func checkSBOM(s *SBOM) error {
	st := s.Statement
	if st.PredicateType != layout.PredicateTypeSPDX {
		return &SBOMError{Platform: s.Platform, What: "predicate type", Want: layout.PredicateTypeSPDX, Got: st.PredicateType}
	}
	if st.Digest.String() != s.Manifest.DigestStr() {
		return &SBOMError{Platform: s.Platform, What: "subject", Want: s.Manifest.DigestStr(), Got: st.Digest.String()}
	}
	f, err := layout.ParseSPDX(st.Predicate)
	if err != nil {
		return fmt.Errorf("SBOM of %s: %w", s.Platform, err)
	}
	s.Packages = len(f.Packages)
	return nil
}

// withAttestationManifests appends the SBOMs' attestation manifests that
// subjects does not hold yet (--provenance adds them too): BuildKit's
// attestation manifests are signed like the image.
func withAttestationManifests(subjects []signer.Subject, sboms []SBOM) []signer.Subject {
	for _, s := range sboms {
		if !slices.ContainsFunc(subjects, func(x signer.Subject) bool { return x.Digest == s.AttestationManifest.Digest }) {
			subjects = append(subjects, s.AttestationManifest)
		}
	}
	return subjects
}

// attestSBOMs signs each SBOM as a cosign attestation of its platform
// manifest, predicate type layout.PredicateTypeSPDX, the SPDX document
// byte for byte.
func attestSBOMs(ctx context.Context, s *signer.Signer, built *builder.Result, sboms []SBOM) error {
	for i := range sboms {
		a, err := s.Attest(ctx, platformSubject(built, sboms[i].Manifest), layout.PredicateTypeSPDX, sboms[i].Statement.Predicate)
		sboms[i].Attestation = a // partial on failure: for a rollback
		if err != nil {
			return err
		}
	}
	return nil
}
