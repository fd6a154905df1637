package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/verifier"
)

// policyGroup is what hallmark verify requires of a signature besides an
// identity: a public key, annotations.
type policyGroup struct {
	key          string
	annotations  []string
	allowUnbound bool
}

func (*policyGroup) title() string { return "verification policy" }

func (g *policyGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "verify with this public key: a PEM `PATH`, env://VAR, or a KMS URI", EnvVars: []string{"HALLMARK_PUBLIC_KEY"}, Destination: &g.key},
		newListFlag(&cli.StringSliceFlag{Name: "annotations", Aliases: []string{"a"}, Usage: "require annotation `KEY=VALUE` in the signed payload (repeatable; all must match); the variable holds one per line", EnvVars: []string{"HALLMARK_VERIFY_ANNOTATIONS"}}, false, &g.annotations),
		&cli.BoolFlag{Name: "allow-unbound-annotations", Usage: "accept a signature whose annotations disagree with what its CI certificate certifies (commit, ref, project, job); the JSON lists them as unbound", EnvVars: []string{"HALLMARK_ALLOW_UNBOUND_ANNOTATIONS"}, Destination: &g.allowUnbound},
	}
}

// identityGroup is the keyless identity a signature's certificate must
// carry.
type identityGroup struct {
	identity, identityRegexp string
	issuer, issuerRegexp     string
}

func (*identityGroup) title() string { return "certificate identity" }

func (g *identityGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "certificate-identity", Usage: "the certificate subject `SAN` to require", EnvVars: []string{"HALLMARK_CERTIFICATE_IDENTITY"}, Destination: &g.identity},
		&cli.StringFlag{Name: "certificate-identity-regexp", Usage: "a `REGEXP` the certificate subject must match", EnvVars: []string{"HALLMARK_CERTIFICATE_IDENTITY_REGEXP"}, Destination: &g.identityRegexp},
		&cli.StringFlag{Name: "certificate-oidc-issuer", Usage: "the OIDC issuer `URL` to require", EnvVars: []string{"HALLMARK_CERTIFICATE_OIDC_ISSUER"}, Destination: &g.issuer},
		&cli.StringFlag{Name: "certificate-oidc-issuer-regexp", Usage: "a `REGEXP` the OIDC issuer must match", EnvVars: []string{"HALLMARK_CERTIFICATE_OIDC_ISSUER_REGEXP"}, Destination: &g.issuerRegexp},
	}
}

// policy is the verification policy of the identity flags, plus, when p
// is not nil, its key and required annotations.
func (g *identityGroup) policy(p *policyGroup) (verifier.Policy, error) {
	out := verifier.Policy{
		Identity: g.identity, IdentityRegexp: g.identityRegexp,
		Issuer: g.issuer, IssuerRegexp: g.issuerRegexp,
	}
	if p == nil {
		return out, nil
	}
	ann, err := ci.ParseAnnotations(p.annotations)
	if err != nil {
		return out, usageErr("%w", err)
	}
	out.Key, out.Annotations = p.key, ann
	return out, nil
}

// trustGroup is the trust material verification uses besides the trusted
// root.
type trustGroup struct {
	caRoots, caIntermediates, tsaChain string
	ignoreTlog, ignoreSCT              bool
}

func (*trustGroup) title() string { return "verification trust" }

func (g *trustGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ca-roots", Usage: "PEM `FILE` of Fulcio root certificates (instead of --trusted-root)", EnvVars: []string{"HALLMARK_CA_ROOTS"}, Destination: &g.caRoots},
		&cli.StringFlag{Name: "ca-intermediates", Usage: "PEM `FILE` of Fulcio intermediate certificates", EnvVars: []string{"HALLMARK_CA_INTERMEDIATES"}, Destination: &g.caIntermediates},
		&cli.StringFlag{Name: "timestamp-certificate-chain", Usage: "PEM chain `FILE` of a trusted timestamp authority", EnvVars: []string{"HALLMARK_TIMESTAMP_CERTIFICATE_CHAIN"}, Destination: &g.tsaChain},
		&cli.BoolFlag{Name: "insecure-ignore-tlog", Usage: "skip the transparency log check (private setups without Rekor)", EnvVars: []string{"HALLMARK_INSECURE_IGNORE_TLOG"}, Destination: &g.ignoreTlog},
		&cli.BoolFlag{Name: "insecure-ignore-sct", Usage: "skip the certificate's SCT check (private Fulcio without a CT log)", EnvVars: []string{"HALLMARK_INSECURE_IGNORE_SCT"}, Destination: &g.ignoreSCT},
	}
}

// trust is the verifier's trust with the trusted root and the Rekor to
// look signatures up in.
func (g *trustGroup) trust(trustedRoot, rekorURL string) verifier.Trust {
	return verifier.Trust{
		TrustedRoot: trustedRoot, CARoots: g.caRoots, CAIntermediates: g.caIntermediates,
		TimestampCertChain: g.tsaChain, RekorURL: rekorURL, IgnoreTlog: g.ignoreTlog, IgnoreSCT: g.ignoreSCT,
	}
}

// verifyRekorGroup is the Rekor hallmark verify looks signatures without
// a bundle up in.
type verifyRekorGroup struct {
	url string
}

func (*verifyRekorGroup) title() string { return "verification transparency log" }

func (g *verifyRekorGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rekor-url", Usage: "Rekor `URL` for looking up signatures without a bundle (default: bundles only)", EnvVars: []string{"HALLMARK_VERIFY_REKOR_URL"}, Destination: &g.url},
	}
}

// provenanceCheckGroup is verify's check of the signed provenance.
type provenanceCheckGroup struct {
	provenance bool
}

func (*provenanceCheckGroup) title() string { return "provenance" }

func (g *provenanceCheckGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "provenance", Usage: "also require each platform manifest's signed SLSA v1 provenance (release --provenance): same identity, about that manifest, builder id, VCS source and revision as its certificate certifies; prints a summary", EnvVars: []string{"HALLMARK_VERIFY_PROVENANCE"}, Destination: &g.provenance},
	}
}
