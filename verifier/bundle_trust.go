package verifier

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// bundleVerifier verifies Sigstore bundles with sigstore-go against the
// same trust as the simple-signing path. Its sigstore-go verifiers are
// made once, in New, and are safe for concurrent use.
type bundleVerifier struct {
	keyed bool
	// observed establishes the signing time from RFC 3161 timestamps and
	// Rekor v1 integrated times; now uses the current time instead, for
	// keyless bundles with neither (and, keyed, is the only verifier: a
	// key needs no signing time).
	observed, now *verify.Verifier
	// tsa is set when a timestamp authority is trusted; tlog when the
	// transparency log is checked.
	tsa, tlog bool
	policy    []verify.PolicyOption
}

// newBundleVerifier builds the sigstore-go trust material and verifiers
// from the policy and the trust material the simple-signing path loaded
// into co: a trusted root, or CA and TSA files with cosign's Rekor and CT
// log keys, or the public-good root; a key as trusted material for a
// keyed policy.
func newBundleVerifier(p *Policy, t *Trust, co *cosign.CheckOpts) (*bundleVerifier, error) {
	tm, err := bundleTrust(t, co)
	if err != nil {
		return nil, err
	}
	bv := &bundleVerifier{keyed: !p.keyless(), tsa: len(tm.TimestampingAuthorities()) > 0, tlog: !t.IgnoreTlog}
	var common []verify.VerifierOption
	if bv.tlog {
		common = append(common, verify.WithTransparencyLog(1))
	}
	if bv.keyed {
		bv.policy = []verify.PolicyOption{verify.WithKey()}
		if bv.now, err = verify.NewVerifier(tm, append(common, verify.WithNoObserverTimestamps())...); err != nil {
			return nil, fmt.Errorf("configuring bundle verification: %w", err)
		}
		return bv, nil
	}
	id, err := verify.NewShortCertificateIdentity(p.Issuer, p.IssuerRegexp, p.Identity, p.IdentityRegexp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	bv.policy = []verify.PolicyOption{verify.WithCertificateIdentity(id)}
	if !t.IgnoreSCT {
		common = append(common, verify.WithSignedCertificateTimestamps(1))
	}
	if bv.observed, err = verify.NewVerifier(tm, append(common, verify.WithObserverTimestamps(1))...); err != nil {
		return nil, fmt.Errorf("configuring bundle verification: %w", err)
	}
	if bv.now, err = verify.NewVerifier(tm, append(common, verify.WithCurrentTime())...); err != nil {
		return nil, fmt.Errorf("configuring bundle verification: %w", err)
	}
	return bv, nil
}

// bundleTrust returns the trusted material for bundles: the policy key,
// the trusted root (or public-good root) cosign loaded, and CA, TSA and
// log keys given apart from a trusted root.
func bundleTrust(t *Trust, co *cosign.CheckOpts) (root.TrustedMaterial, error) {
	var all root.TrustedMaterialCollection
	if co.SigVerifier != nil {
		key := root.NewExpiringKey(co.SigVerifier, time.Time{}, time.Time{})
		all = append(all, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return key, nil
		}))
	}
	if co.TrustedMaterial != nil {
		all = append(all, co.TrustedMaterial)
	}
	// CA and TSA files, and the log keys cosign found for them.
	var cas []root.CertificateAuthority
	if t.CARoots != "" {
		var err error
		if cas, err = certificateAuthorities(t.CARoots, t.CAIntermediates); err != nil {
			return nil, err
		}
	}
	var tsas []root.TimestampingAuthority
	if co.TSACertificate != nil && len(co.TSARootCertificates) > 0 {
		tsas = append(tsas, &root.SigstoreTimestampingAuthority{
			Root: co.TSARootCertificates[0], Intermediates: co.TSAIntermediateCertificates, Leaf: co.TSACertificate,
		})
	}
	rekor, ct := logs(co.RekorPubKeys), logs(co.CTLogPubKeys)
	if len(cas)+len(tsas)+len(rekor)+len(ct) > 0 {
		tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ct, tsas, rekor)
		if err != nil {
			return nil, loadErr(fmt.Errorf("building trust material for bundles: %w", err))
		}
		all = append(all, tr)
	}
	return all, nil
}

// certificateAuthorities makes one Fulcio CA per root certificate, each
// with every intermediate.
func certificateAuthorities(roots, intermediates string) ([]root.CertificateAuthority, error) {
	rs, err := loadCerts(roots)
	if err != nil {
		return nil, err
	}
	var is []*x509.Certificate
	if intermediates != "" {
		if is, err = loadCerts(intermediates); err != nil {
			return nil, err
		}
	}
	cas := make([]root.CertificateAuthority, len(rs))
	for i, r := range rs {
		cas[i] = &root.FulcioCertificateAuthority{Root: r, Intermediates: is}
	}
	return cas, nil
}

// logs turns cosign's log keys (by hex log ID) into sigstore-go's logs.
func logs(keys *cosign.TrustedTransparencyLogPubKeys) map[string]*root.TransparencyLog {
	if keys == nil {
		return nil
	}
	out := map[string]*root.TransparencyLog{}
	for id, k := range keys.Keys {
		raw, err := hex.DecodeString(id)
		if err != nil {
			continue
		}
		out[id] = &root.TransparencyLog{
			ID: raw, HashFunc: crypto.SHA256, PublicKey: k.PubKey, SignatureHashFunc: crypto.SHA256,
		}
	}
	return out
}
