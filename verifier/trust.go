package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	rekor "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/internal/keyref"
	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/sigstoretuf"
)

// checkOpts builds cosign's CheckOpts for the policy and trust settings.
// The claim verifier is always cosign.SimpleClaimVerifier: without it
// cosign checks neither the payload's digest nor its annotations.
func checkOpts(ctx context.Context, p *Policy, t *Trust) (*cosign.CheckOpts, error) {
	co := &cosign.CheckOpts{
		ClaimVerifier: cosign.SimpleClaimVerifier,
		IgnoreSCT:     t.IgnoreSCT,
		IgnoreTlog:    t.IgnoreTlog,
	}
	if len(p.Annotations) > 0 {
		co.Annotations = make(map[string]any, len(p.Annotations))
		for k, v := range p.Annotations {
			co.Annotations[k] = v
		}
	}
	var err error
	if p.keyless() {
		co.Identities = []cosign.Identity{{
			Subject: p.Identity, SubjectRegExp: p.IdentityRegexp,
			Issuer: p.Issuer, IssuerRegExp: p.IssuerRegexp,
		}}
		w := p.GitHubWorkflow
		co.CertGithubWorkflowTrigger, co.CertGithubWorkflowSha, co.CertGithubWorkflowName = w.Trigger, w.SHA, w.Name
		co.CertGithubWorkflowRepository, co.CertGithubWorkflowRef = w.Repository, w.Ref
	} else if p.PublicKey != nil {
		if co.SigVerifier, err = signature.LoadVerifier(p.PublicKey, crypto.SHA256); err != nil {
			return nil, fmt.Errorf("loading public key: %w", err)
		}
	} else if co.SigVerifier, err = loadPublicKey(ctx, p.Key); err != nil {
		return nil, err
	}
	if err := loadRoots(ctx, co, p, t); err != nil {
		return nil, err
	}
	if err := loadTimestamping(ctx, co, t); err != nil {
		return nil, err
	}
	return co, loadLogs(ctx, co, p, t)
}

// loadRoots sets the Fulcio trust: a trusted root, CA files, or (keyless
// without either, or a key with a TUF repository named) the trusted root
// of the TUF repository, Sigstore's public-good one by default.
func loadRoots(ctx context.Context, co *cosign.CheckOpts, p *Policy, t *Trust) error {
	switch {
	case t.TrustedRoot != "" && (t.CARoots != "" || t.CAIntermediates != ""):
		return loadErr(errors.New("give Fulcio's roots either in the trusted root ({verifier.Trust.TrustedRoot}) or as {verifier.Trust.CARoots}/{verifier.Trust.CAIntermediates}, not both"))
	case t.TrustedRoot != "":
		tr, err := limits.ReadTrustedRoot(t.TrustedRoot)
		if err != nil {
			return loadErr(fmt.Errorf("loading trusted root %s: %w", t.TrustedRoot, err))
		}
		co.TrustedMaterial = tr
	case t.CARoots != "":
		roots, err := certPool(t.CARoots)
		if err != nil {
			return err
		}
		co.RootCerts = roots
		if t.CAIntermediates != "" {
			if co.IntermediateCerts, err = certPool(t.CAIntermediates); err != nil {
				return err
			}
		}
	case t.TimestampCertChain == "" && (p.keyless() || t.TUFMirror != "" || t.TUFRoot != ""):
		tm, err := sigstoretuf.TrustedRoot(ctx, sigstoretuf.Options{Mirror: t.TUFMirror, Root: t.TUFRoot})
		if err != nil {
			return fmt.Errorf("getting the Sigstore trusted root (give {verifier.Trust.TrustedRoot} or {verifier.Trust.CARoots} offline): %w", err)
		}
		co.TrustedMaterial = tm
	case p.keyless():
		return errors.New("keyless verification needs Fulcio roots: give {verifier.Trust.TrustedRoot} or {verifier.Trust.CARoots}")
	}
	return nil
}

// loadTimestamping turns on signed timestamps when a TSA is trusted, so
// a signature made while its certificate was valid stays valid.
func loadTimestamping(ctx context.Context, co *cosign.CheckOpts, t *Trust) error {
	if t.TimestampCertChain != "" {
		if _, err := limits.ReadFile(t.TimestampCertChain, 0); err != nil { // cosign reads it unbounded
			return loadErr(fmt.Errorf("loading timestamp authority chain: %w", err))
		}
		certs, err := cosign.GetTSACerts(ctx, t.TimestampCertChain, cosign.GetTufTargets)
		if err != nil {
			return loadErr(fmt.Errorf("loading timestamp authority chain %s: %w", t.TimestampCertChain, err))
		}
		co.TSACertificate = certs.LeafCert
		co.TSAIntermediateCertificates = certs.IntermediateCerts
		co.TSARootCertificates = certs.RootCert
		co.UseSignedTimestamps = true
		return nil
	}
	if co.TrustedMaterial != nil && len(co.TrustedMaterial.TimestampingAuthorities()) > 0 {
		co.UseSignedTimestamps = true
	}
	return nil
}

// loadLogs sets the Rekor and CT log keys, unless their checks are off or
// the trusted root provides them.
func loadLogs(ctx context.Context, co *cosign.CheckOpts, p *Policy, t *Trust) error {
	var err error
	if !t.IgnoreTlog {
		if t.RekorURL != "" {
			if co.RekorClient, err = rekor.GetRekorClient(t.RekorURL); err != nil {
				return fmt.Errorf("creating Rekor client: %w", err)
			}
		}
		if co.TrustedMaterial == nil {
			if co.RekorPubKeys, err = cosign.GetRekorPubs(ctx); err != nil {
				return fmt.Errorf("getting Rekor public keys ({verifier.Trust.IgnoreTlog} skips the log check): %w", err)
			}
		}
	}
	if p.keyless() && !t.IgnoreSCT && co.TrustedMaterial == nil {
		if co.CTLogPubKeys, err = cosign.GetCTLogPubs(ctx); err != nil {
			return fmt.Errorf("getting CT log public keys ({verifier.Trust.IgnoreSCT} skips the SCT check): %w", err)
		}
	}
	return nil
}

func certPool(path string) (*x509.CertPool, error) {
	certs, err := loadCerts(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// loadCerts reads the PEM certificates of a file, at least one.
func loadCerts(path string) ([]*x509.Certificate, error) {
	b, err := limits.ReadFile(path, 0)
	if err != nil {
		return nil, loadErr(fmt.Errorf("reading certificates: %w", err))
	}
	certs, err := cryptoutils.LoadCertificatesFromPEM(bytes.NewReader(b))
	if err != nil || len(certs) == 0 {
		return nil, loadErr(fmt.Errorf("no PEM certificates in %s (%v)", path, err))
	}
	return certs, nil
}

// loadPublicKey loads a verifier from a PEM public key (or certificate)
// file, env://VAR, http(s) URL, or a KMS URI (see keyref).
func loadPublicKey(ctx context.Context, ref string) (signature.Verifier, error) {
	raw, fromKMS, err := keyref.Open(ctx, ref)
	var bad *keyref.BadRef
	switch {
	case errors.As(err, &bad):
		return nil, loadErr(err)
	case err != nil:
		return nil, err
	case fromKMS != nil:
		return fromKMS, nil
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		certs, cerr := cryptoutils.UnmarshalCertificatesFromPEM(raw)
		if cerr != nil || len(certs) == 0 {
			return nil, loadErr(fmt.Errorf("loading key %s: not a PEM public key or certificate: %w", ref, err))
		}
		pub = certs[0].PublicKey
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, loadErr(fmt.Errorf("loading key %s: %w", ref, err))
	}
	return v, nil
}
