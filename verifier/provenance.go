package verifier

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/layout"
)

// CheckProvenance names a provenance attestation that disagrees with its
// certificate (builder id, VCS source or revision).
const CheckProvenance Check = "provenance"

// ErrNoProvenance reports a manifest without an SLSA v1 provenance
// attestation.
var ErrNoProvenance = errors.New("no SLSA v1 provenance attestation")

// Provenance is a verified SLSA v1 provenance attestation of a manifest.
type Provenance struct {
	// Ref is the attestation's referrer manifest.
	Ref string
	layout.ProvenanceFacts
	// BuildTrigger is what the certificate says started the run (GitLab's
	// pipeline source, GitHub's event name).
	BuildTrigger string
	// Predicate is the attested predicate, byte for byte.
	Predicate []byte
}

// VerifyProvenance finds the SLSA v1 provenance attestations (cosign
// attest's bundles, predicate type layout.PredicateTypeSLSAProvenance1) of
// digest and checks each: the subject is digest, the signer satisfies the
// policy's identity (or key), the bundle verifies, and — for a CI
// certificate — the provenance's builder id, VCS source and revision are
// what the certificate certifies (the run, the repository, the commit).
// It returns the first that passes, else a *NoMatchError naming why each
// failed, or ErrNoProvenance.
func (v *Verifier) VerifyProvenance(ctx context.Context, digest name.Digest) (*Provenance, error) {
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("verifying the provenance of %s: %w", digest, err)
	}
	ropts := append(slices.Clone(v.opts.RemoteOptions), remote.WithContext(ctx))
	found, unreadable := collectUpTo(digest, ropts, newCandidates(v.opts.MaxCandidates), LayoutBundleReferrers, LayoutBundleFallback)
	co := *v.co
	c := newChecker(&v.opts.Policy, &co, v.bundles, h)
	var failures []*CheckError
	for _, f := range found {
		if f.bundle == nil || layout.StatementPredicateType(f.bundle.GetDsseEnvelope().GetPayload()) != layout.PredicateTypeSLSAProvenance1 {
			continue
		}
		p, cerr := c.checkProvenance(f)
		if cerr == nil {
			return p, nil
		}
		cerr.Layout, cerr.Ref = f.layout, f.ref
		failures = append(failures, cerr)
	}
	if len(failures) == 0 {
		return nil, withUnreadable(fmt.Errorf("%w for %s", ErrNoProvenance, digest), digest, unreadable)
	}
	return nil, withUnreadable(&NoMatchError{Digest: digest, Failures: failures}, digest, unreadable)
}

// checkProvenance checks one provenance attestation bundle.
func (c *checker) checkProvenance(f found) (*Provenance, *CheckError) {
	st, err := layout.ParseAttestation(f.bundle.GetDsseEnvelope().GetPayload())
	if err != nil {
		return nil, &CheckError{Check: CheckPayload, Err: err}
	}
	if st.Digest != c.digest {
		return nil, &CheckError{Check: CheckDigest, Want: c.digest.String(), Got: st.Digest.String(),
			Err: errors.New("provenance of another image")}
	}
	if cerr := c.checkBundleSigner(f.bundle); cerr != nil {
		return nil, cerr
	}
	if cerr := c.verifyBundle(f.bundle); cerr != nil {
		return nil, cerr
	}
	facts, err := layout.ParseProvenance(st.Predicate)
	if err != nil {
		return nil, &CheckError{Check: CheckPayload, Err: err}
	}
	p := &Provenance{Ref: f.ref, ProvenanceFacts: facts, Predicate: st.Predicate}
	cert := bundleCert(f.bundle)
	if cert == nil {
		return p, nil // a key certifies nothing
	}
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return nil, &CheckError{Check: CheckCertificate, Err: err}
	}
	p.BuildTrigger = ext.BuildTrigger
	certified := ci.CertifiedByExtensions(ext)
	for _, k := range []struct{ what, got, certified, field string }{
		{"builder id", facts.BuilderID, certified.RunURL(), "Run Invocation URI"},
		{"VCS source", facts.VCSSource, certified.Values[ci.KeySource], "Source Repository URI"},
		{"VCS revision", facts.VCSRevision, certified.Values[ci.KeyRevision], "Source Repository Digest"},
	} {
		if k.certified != "" && k.got != k.certified {
			return nil, &CheckError{Check: CheckProvenance, Key: k.what, Want: k.certified, Got: k.got,
				Err: fmt.Errorf("disagrees with the certificate's %s", k.field)}
		}
	}
	return p, nil
}
