package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/verifier"
)

// verifyConfig is the verify command's flags, bound once.
type verifyConfig struct {
	key                       string
	identity, identityRegexp  string
	issuer, issuerRegexp      string
	annotations               cli.StringSlice
	trustedRoot, caRoots      string
	caIntermediates, tsaChain string
	rekorURL                  string
	ignoreTlog, ignoreSCT     bool
}

func verifyCommand() *cli.Command {
	var cfg verifyConfig
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify an image's cosign signatures; prints them as `cosign verify` does (JSON)",
		ArgsUsage: "REGISTRY/REPO@sha256:DIGEST",
		Description: "Checks every signature of the digest, in every layout (the .sig tag, OCI 1.1 referrers through the\n" +
			"referrers API or the fallback index), and passes when one satisfies the policy: --key, or a certificate\n" +
			"identity and OIDC issuer, plus every -a annotation. Without a policy in GitLab CI or GitHub Actions the\n" +
			"job's own identity is expected and the equivalent cosign command is printed on stderr.\n" +
			"stdout: the JSON array cosign verify prints; stderr: a one-line summary, or why each signature failed.",
		OnUsageError: onUsageError,
		Flags:        append(verifyFlags(&cfg), registryFlags()...),
		Action: func(c *cli.Context) error {
			return runVerify(c, &cfg)
		},
	}
}

func verifyFlags(cfg *verifyConfig) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "verify with this public key: a PEM `PATH`, env://VAR, or a KMS URI", EnvVars: []string{"HALLMARK_PUBLIC_KEY"}, Destination: &cfg.key},
		&cli.StringFlag{Name: "certificate-identity", Usage: "the certificate subject `SAN` to require", EnvVars: []string{"HALLMARK_CERTIFICATE_IDENTITY"}, Destination: &cfg.identity},
		&cli.StringFlag{Name: "certificate-identity-regexp", Usage: "a `REGEXP` the certificate subject must match", EnvVars: []string{"HALLMARK_CERTIFICATE_IDENTITY_REGEXP"}, Destination: &cfg.identityRegexp},
		&cli.StringFlag{Name: "certificate-oidc-issuer", Usage: "the OIDC issuer `URL` to require", EnvVars: []string{"HALLMARK_CERTIFICATE_OIDC_ISSUER"}, Destination: &cfg.issuer},
		&cli.StringFlag{Name: "certificate-oidc-issuer-regexp", Usage: "a `REGEXP` the OIDC issuer must match", EnvVars: []string{"HALLMARK_CERTIFICATE_OIDC_ISSUER_REGEXP"}, Destination: &cfg.issuerRegexp},
		&cli.StringSliceFlag{Name: "annotations", Aliases: []string{"a"}, Usage: "require annotation `KEY=VALUE` in the signed payload (repeatable; all must match), comma-separated in the variable", EnvVars: []string{"HALLMARK_VERIFY_ANNOTATIONS"}, Destination: &cfg.annotations},
		&cli.StringFlag{Name: "trusted-root", Usage: "sigstore trusted_root.json `FILE` (Fulcio, Rekor, CT log, TSA)", EnvVars: []string{"HALLMARK_TRUSTED_ROOT"}, Destination: &cfg.trustedRoot},
		&cli.StringFlag{Name: "ca-roots", Usage: "PEM `FILE` of Fulcio root certificates (instead of --trusted-root)", EnvVars: []string{"HALLMARK_CA_ROOTS"}, Destination: &cfg.caRoots},
		&cli.StringFlag{Name: "ca-intermediates", Usage: "PEM `FILE` of Fulcio intermediate certificates", EnvVars: []string{"HALLMARK_CA_INTERMEDIATES"}, Destination: &cfg.caIntermediates},
		&cli.StringFlag{Name: "timestamp-certificate-chain", Usage: "PEM chain `FILE` of a trusted timestamp authority", EnvVars: []string{"HALLMARK_TIMESTAMP_CERTIFICATE_CHAIN"}, Destination: &cfg.tsaChain},
		&cli.StringFlag{Name: "rekor-url", Usage: "Rekor `URL` for looking up signatures without a bundle (default: bundles only)", EnvVars: []string{"HALLMARK_VERIFY_REKOR_URL"}, Destination: &cfg.rekorURL},
		&cli.BoolFlag{Name: "insecure-ignore-tlog", Usage: "skip the transparency log check (private setups without Rekor)", EnvVars: []string{"HALLMARK_INSECURE_IGNORE_TLOG"}, Destination: &cfg.ignoreTlog},
		&cli.BoolFlag{Name: "insecure-ignore-sct", Usage: "skip the certificate's SCT check (private Fulcio without a CT log)", EnvVars: []string{"HALLMARK_INSECURE_IGNORE_SCT"}, Destination: &cfg.ignoreSCT},
	}
}

func runVerify(c *cli.Context, cfg *verifyConfig) error {
	if c.NArg() != 1 {
		return usageErr("verify takes one image reference (REGISTRY/REPO@sha256:DIGEST), got %d arguments", c.NArg())
	}
	policy, err := cfg.policy()
	if err != nil {
		return err
	}
	reg := newRegistry(c)
	ref, err := reg.ParseReference(c.Args().First())
	if err != nil {
		return usageErr("%w", err)
	}
	if policy, err = ciPolicy(c, ciEnv(), policy, ref.String(), cfg.cosignFlags()); err != nil {
		return err
	}
	digest, err := resolveDigest(c, reg, ref)
	if err != nil {
		return stage(exitVerify, err)
	}
	res, err := verifier.Verify(c.Context, digest, verifier.Options{
		RemoteOptions: reg.RemoteOptions(c.Context), Logger: logger(c), Policy: policy, Trust: cfg.trust(),
	})
	if err != nil {
		return verifyErr(err)
	}
	out, err := res.JSON()
	if err != nil {
		return stage(exitVerify, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "hallmark: %s\n", verifySummary(res, policy))
	_, err = fmt.Fprintf(c.App.Writer, "%s\n", out)
	return err
}

func (cfg *verifyConfig) policy() (verifier.Policy, error) {
	ann, err := ci.ParseAnnotations(cfg.annotations.Value())
	if err != nil {
		return verifier.Policy{}, usageErr("%w", err)
	}
	return verifier.Policy{
		Key: cfg.key, Identity: cfg.identity, IdentityRegexp: cfg.identityRegexp,
		Issuer: cfg.issuer, IssuerRegexp: cfg.issuerRegexp, Annotations: ann,
	}, nil
}

func (cfg *verifyConfig) trust() verifier.Trust {
	return verifier.Trust{
		TrustedRoot: cfg.trustedRoot, CARoots: cfg.caRoots, CAIntermediates: cfg.caIntermediates,
		TimestampCertChain: cfg.tsaChain, RekorURL: cfg.rekorURL, IgnoreTlog: cfg.ignoreTlog, IgnoreSCT: cfg.ignoreSCT,
	}
}

// cosignFlags are the trust flags to repeat in the equivalent cosign
// verify command (same names and meaning).
func (cfg *verifyConfig) cosignFlags() []string {
	var out []string
	for _, f := range [][2]string{{"--trusted-root", cfg.trustedRoot}, {"--ca-roots", cfg.caRoots},
		{"--ca-intermediates", cfg.caIntermediates}, {"--timestamp-certificate-chain", cfg.tsaChain}, {"--rekor-url", cfg.rekorURL}} {
		if f[1] != "" {
			out = append(out, f[0], f[1])
		}
	}
	if cfg.ignoreTlog {
		out = append(out, "--insecure-ignore-tlog")
	}
	if cfg.ignoreSCT {
		out = append(out, "--insecure-ignore-sct")
	}
	return out
}

// ciPolicy fills in the CI job's own identity and issuer when no key and
// no identity or issuer was given, and prints the equivalent cosign
// command. Outside CI the policy stays empty and Verify refuses it.
func ciPolicy(c *cli.Context, env ci.Env, p verifier.Policy, image string, extra []string) (verifier.Policy, error) {
	if p.Key != "" || p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
		return p, nil
	}
	cp, err := env.Policy()
	if err != nil {
		return p, usageErr("%w; %w", verifier.ErrNoPolicy, err)
	}
	p.Identity, p.Issuer = cp.Identity, cp.Issuer
	fmt.Fprintf(c.App.ErrWriter, "hallmark: no policy given; expecting this CI job's identity, as: %s\n",
		ci.VerifyCommand(image, cp, p.Annotations, extra...))
	return p, nil
}

// verifySummary is the one-line report on stderr.
func verifySummary(res *verifier.Result, p verifier.Policy) string {
	var layouts []string
	for _, l := range slices.Sorted(maps.Keys(res.Layouts())) {
		layouts = append(layouts, fmt.Sprintf("%s: %d", l, res.Layouts()[l]))
	}
	who := "key " + p.Key
	if p.PublicKey != nil {
		who = "the signer's public key"
	} else if p.Key == "" {
		who = fmt.Sprintf("identity %s, issuer %s", firstNonEmpty(p.Identity, "/"+p.IdentityRegexp+"/"), firstNonEmpty(p.Issuer, "/"+p.IssuerRegexp+"/"))
	}
	var ann []string
	for _, k := range slices.Sorted(maps.Keys(p.Annotations)) {
		ann = append(ann, k+"="+p.Annotations[k])
	}
	return fmt.Sprintf("verified %s: %d of %d signatures match (%s); %s; annotations [%s]",
		res.Digest, len(res.Verified), res.Checked(), strings.Join(layouts, ", "), who, strings.Join(ann, " "))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// verifyErr gives a verification error its exit code: a policy or trust
// material that cannot be used is bad input (2), anything else a failed
// verification (5).
func verifyErr(err error) error {
	if errors.Is(err, verifier.ErrPolicy) || errors.Is(err, verifier.ErrNoPolicy) || errors.Is(err, verifier.ErrLoad) {
		return usageErr("%w", err)
	}
	return stage(exitVerify, err)
}
