package release

import (
	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// CompletePolicy completes the verification policy p of a release signed
// by s: what p gives wins; a key release verifies with the signer's public
// key; keyless with the CI job's identity and issuer (jobIdentity, when not nil),
// or else those in the signing certificate — each of the two where p does
// not give it, so that overriding one keeps the other.
func CompletePolicy(p verifier.Policy, s *signer.Signer, jobIdentity *ci.Policy) (verifier.Policy, error) {
	hasIdentity := p.Identity != "" || p.IdentityRegexp != ""
	hasIssuer := p.Issuer != "" || p.IssuerRegexp != ""
	if subject, issuer, ok := s.CertificateIdentity(); ok {
		if jobIdentity != nil {
			subject, issuer = jobIdentity.Identity, jobIdentity.Issuer
		}
		if !hasIdentity {
			p.Identity = subject
		}
		if !hasIssuer {
			p.Issuer = issuer
		}
		return p, nil
	}
	if hasIdentity || hasIssuer {
		return p, nil
	}
	pk, err := s.PublicKey()
	if err != nil {
		return p, err
	}
	p.PublicKey = pk
	return p, nil
}

// writtenLayouts are where signing with o stores signatures, the only
// places a release's verification needs to look (hallmark verify on its
// own searches every one): the simple-signing layouts of the mode, and the
// bundle referrer's.
func writtenLayouts(o signer.Options) []verifier.Layout {
	mode := o.Mode
	if mode == "" && !o.Bundle {
		mode = layout.ModeLegacy
	}
	var out []verifier.Layout
	if mode != "" {
		out = mode.Locations()
	}
	if o.Bundle {
		out = append(out, layout.LocationBundleReferrers, layout.LocationBundleFallback)
	}
	return out
}
