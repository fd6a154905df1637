package cli

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
)

// signerGroup is a flag group that sets signer options.
type signerGroup interface {
	flagGroup
	applySigner(ctx context.Context, o *signer.Options) error
}

// signerOptions builds the signer options once: the groups' settings, and
// the registry access, logger and round-trip measure of reg. Every group
// is applied; the error is the first group's that failed.
func signerOptions(ctx context.Context, e *env, reg *registry.Registry, groups ...signerGroup) (signer.Options, error) {
	o := signer.Options{
		RemoteOptions:     reg.RemoteOptions(ctx),
		Logger:            e.logger(),
		ShortestRoundTrip: reg.ShortestRoundTrip,
		UserAgent:         version.UserAgent(),
		// A CI job's certificate certifies its commit, job, project and
		// ref: an annotation disagreeing with it is not signed.
		CheckAnnotations: ci.CheckBound,
	}
	var first error
	for _, g := range groups {
		if err := g.applySigner(ctx, &o); err != nil && first == nil {
			first = err
		}
	}
	return o, first
}

// keyGroup is signing with a key.
type keyGroup struct {
	key, password      string
	certificate, chain string
}

func (*keyGroup) title() string { return "signing key" }

func (g *keyGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "sign with this private key: a cosign.key `PATH` (password from $COSIGN_PASSWORD), env://VAR, or a KMS URI", EnvVars: []string{"HALLMARK_KEY"}, Destination: &g.key},
		&cli.StringFlag{Name: "key-password", Hidden: true, EnvVars: []string{"COSIGN_PASSWORD"}, Destination: &g.password},
		&cli.StringFlag{Name: "certificate", Usage: "attach this certificate `FILE` (PEM or DER) for --key", EnvVars: []string{"HALLMARK_CERTIFICATE"}, Destination: &g.certificate},
		&cli.StringFlag{Name: "certificate-chain", Usage: "attach this PEM chain `FILE` for --certificate", EnvVars: []string{"HALLMARK_CERTIFICATE_CHAIN"}, Destination: &g.chain},
	}
}

func (g *keyGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.Key, o.Password = g.key, []byte(g.password)
	o.Certificate, o.CertificateChain = g.certificate, g.chain
	return nil
}

// keylessGroup is signing with an OIDC token and a Fulcio certificate.
type keylessGroup struct {
	token, tokenFile        string
	ambientToken            string // $SIGSTORE_ID_TOKEN
	ghRequestURL, ghRequest string // GitHub Actions' ID token request
	fulcioURL               string
	insecureNoSCT           bool
}

func (*keylessGroup) title() string { return "keyless signing" }

func (g *keylessGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "identity-token", Usage: "OIDC ID `TOKEN` for keyless signing (audience sigstore); then --identity-token-file, $SIGSTORE_ID_TOKEN, GitHub Actions' $ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN", EnvVars: []string{"HALLMARK_IDENTITY_TOKEN"}, Destination: &g.token},
		&cli.StringFlag{Name: "identity-token-file", Usage: "read the OIDC ID token from `FILE`", EnvVars: []string{"HALLMARK_IDENTITY_TOKEN_FILE"}, Destination: &g.tokenFile},
		&cli.StringFlag{Name: "sigstore-id-token", Hidden: true, EnvVars: []string{"SIGSTORE_ID_TOKEN"}, Destination: &g.ambientToken},
		&cli.StringFlag{Name: "actions-id-token-request-url", Hidden: true, EnvVars: []string{"ACTIONS_ID_TOKEN_REQUEST_URL"}, Destination: &g.ghRequestURL},
		&cli.StringFlag{Name: "actions-id-token-request-token", Hidden: true, EnvVars: []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, Destination: &g.ghRequest},
		&cli.StringFlag{Name: "fulcio-url", Usage: "Fulcio `URL` for keyless signing (default: --signing-config's, else " + signer.DefaultFulcioURL + ")", EnvVars: []string{"HALLMARK_FULCIO_URL"}, Destination: &g.fulcioURL},
		&cli.BoolFlag{Name: "insecure-skip-verify", Usage: "accept a Fulcio certificate without a verifiable SCT (private Fulcio without a CT log)", EnvVars: []string{"HALLMARK_INSECURE_SKIP_VERIFY"}, Destination: &g.insecureNoSCT},
	}
}

// applySigner sets the Fulcio settings and, without a key (which wins over
// an ambient $SIGSTORE_ID_TOKEN), the identity token. keyGroup must be
// applied first.
func (g *keylessGroup) applySigner(ctx context.Context, o *signer.Options) error {
	o.FulcioURL, o.InsecureSkipSCT = g.fulcioURL, g.insecureNoSCT
	if o.Key != "" {
		return nil
	}
	tok, err := g.identityToken(ctx)
	o.IdentityToken = tok
	return err
}

// identityToken picks the OIDC token: --identity-token, then
// --identity-token-file, then $SIGSTORE_ID_TOKEN, then a GitHub Actions
// job's token exchange. Explicit flags win over the ambient token.
func (g *keylessGroup) identityToken(ctx context.Context) (string, error) {
	switch {
	case g.token != "":
		return g.token, nil
	case g.tokenFile != "":
		b, err := limits.ReadFile(g.tokenFile, 0)
		if err != nil {
			return "", usageErr("reading --identity-token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case g.ambientToken != "":
		return g.ambientToken, nil
	case g.ghRequestURL != "" && g.ghRequest != "":
		tok, err := signer.GitHubActionsToken(ctx, g.ghRequestURL, g.ghRequest, "")
		if err != nil {
			return "", inStage(release.StageSign, err)
		}
		return tok, nil
	}
	return "", nil
}

// tlogGroup is the transparency log signatures are recorded in.
type tlogGroup struct {
	rekorURL string
	version  uint
	upload   bool
}

func (*tlogGroup) title() string { return "transparency log" }

func (g *tlogGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rekor-url", Usage: "Rekor `URL` (default: --signing-config's, else " + signer.DefaultRekorURL + ")", EnvVars: []string{"HALLMARK_REKOR_URL"}, Destination: &g.rekorURL},
		&cli.UintFlag{Name: "rekor-version", Usage: "`VERSION` of --rekor-url's API: 1, or 2 (Rekor v2: bundle signatures only, with --timestamp-server-url) (default: --signing-config's, else 1)", EnvVars: []string{"HALLMARK_REKOR_VERSION"}, Destination: &g.version},
		&cli.BoolFlag{Name: "tlog-upload", Value: true, Usage: "record the signature in the Rekor transparency log", EnvVars: []string{"HALLMARK_TLOG_UPLOAD"}, Destination: &g.upload},
	}
}

func (g *tlogGroup) applySigner(_ context.Context, o *signer.Options) error {
	if g.version > 2 {
		return usageErr("--rekor-version %d: want 1 or 2", g.version)
	}
	o.RekorURL, o.RekorVersion, o.SkipTlogUpload = g.rekorURL, uint32(g.version), !g.upload
	return nil
}

// verifyRekorURL is the Rekor a release's verification looks signatures
// up in: the one they were uploaded to, none without an upload or with
// the Rekor of a signing config (the signatures carry their entries).
func (g *tlogGroup) verifyRekorURL() string {
	if g.upload {
		return g.rekorURL
	}
	return ""
}

// tsaGroup is the timestamp authority signatures get a timestamp from.
type tsaGroup struct {
	url string
}

func (*tsaGroup) title() string { return "timestamp authority" }

func (g *tsaGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "timestamp-server-url", Usage: "get an RFC 3161 timestamp for the signature from this TSA `URL`", EnvVars: []string{"HALLMARK_TIMESTAMP_SERVER_URL"}, Destination: &g.url},
	}
}

func (g *tsaGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.TimestampServerURL = g.url
	return nil
}

// servicesTLSGroup is the TLS trust for Fulcio, Rekor and the TSA.
type servicesTLSGroup struct {
	caCert string
}

func (*servicesTLSGroup) title() string { return "Sigstore services TLS" }

func (g *servicesTLSGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sigstore-ca-cert", Usage: "extra PEM CA `FILE` trusted for TLS to Fulcio, Rekor and the TSA", EnvVars: []string{"HALLMARK_SIGSTORE_CA_CERT"}, Destination: &g.caCert},
	}
}

func (g *servicesTLSGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.ServiceCACert = g.caCert
	return nil
}

// trustedRootGroup is the sigstore trusted root, for signing (Fulcio's
// SCT) and verifying.
type trustedRootGroup struct {
	path string
}

func (*trustedRootGroup) title() string { return "trusted root" }

func (g *trustedRootGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "trusted-root", Usage: "sigstore trusted_root.json `FILE`: Fulcio, Rekor, CT log and TSA keys (signing checks Fulcio's SCT with it)", EnvVars: []string{"HALLMARK_TRUSTED_ROOT"}, Destination: &g.path},
	}
}

func (g *trustedRootGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.TrustedRoot = g.path
	return nil
}

// storageGroup says in which format, and where, signatures are stored in
// the registry.
type storageGroup struct {
	mode        string
	bundle      bool // --new-bundle-format
	bothFormats bool
}

func (*storageGroup) title() string { return "storage/format" }

func (g *storageGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "new-bundle-format", Value: true, Usage: "sign as cosign v3 does: a Sigstore bundle stored as an OCI 1.1 referrer; =false writes cosign v2's simple-signing signature in --registry-referrers-mode's layout", EnvVars: []string{"HALLMARK_NEW_BUNDLE_FORMAT"}, Destination: &g.bundle},
		&cli.BoolFlag{Name: "both-formats", Usage: "write the bundle AND a simple-signing signature (in --registry-referrers-mode's layout), for consumers that read only the older format (cosign < 2.6.3, podman, older policy engines)", EnvVars: []string{"HALLMARK_BOTH_FORMATS"}, Destination: &g.bothFormats},
		&cli.StringFlag{Name: "registry-referrers-mode", Value: string(signer.ModeLegacy), Usage: "store simple-signing signatures as `MODE`: legacy (the .sig tag), oci-1-1 (an OCI 1.1 referrer) or both (bundles are always referrers)", EnvVars: []string{"HALLMARK_REGISTRY_REFERRERS_MODE"}, Destination: &g.mode},
	}
}

func (g *storageGroup) applySigner(_ context.Context, o *signer.Options) error {
	mode, err := signer.ParseMode(g.mode)
	if err != nil {
		return usageErr("--registry-referrers-mode: %w", err)
	}
	switch {
	case g.bothFormats && !g.bundle:
		return usageErr("--both-formats writes a bundle too: drop --new-bundle-format=false")
	case !g.bundle:
		o.Bundle, o.Mode = false, mode
	case g.bothFormats:
		o.Bundle, o.Mode = true, mode
	default:
		o.Bundle, o.Mode = true, ""
	}
	return nil
}

// annotationsGroup is the annotations a signature carries: the CI
// provenance set and -a values.
type annotationsGroup struct {
	explicit []string
	noCI     bool
}

func (*annotationsGroup) title() string { return "signature annotations" }

func (g *annotationsGroup) flags() []cli.Flag {
	return []cli.Flag{
		newListFlag(&cli.StringSliceFlag{
			Name:    "annotations",
			Aliases: []string{"a"},
			Usage:   "extra annotation `KEY=VALUE` (repeatable; wins over the automatic CI provenance value with the same key); the variable holds one per line",
			EnvVars: []string{"HALLMARK_ANNOTATIONS"},
		}, false, &g.explicit),
		&cli.BoolFlag{
			Name:        "no-ci-annotations",
			Usage:       "leave out the provenance annotations taken from CI variables or the git checkout (the tag and -a values stay)",
			EnvVars:     []string{"HALLMARK_NO_CI_ANNOTATIONS"},
			Destination: &g.noCI,
		},
	}
}

// resolve returns the annotations to attach for tag, looking for a git
// checkout in dir outside CI. A malformed -a value is a usage error.
func (g *annotationsGroup) resolve(env ci.Env, tag, dir string) (map[string]string, error) {
	explicit, err := ci.ParseAnnotations(g.explicit)
	if err != nil {
		return nil, usageErr("%w", err)
	}
	return env.ResolveAnnotations(ci.AnnotationRequest{Tag: tag, Explicit: explicit, NoCI: g.noCI, Dir: dir})
}

// signTagGroup is the tag recorded in a signature's tag annotation, for
// sign and its preview, hallmark annotations.
type signTagGroup struct {
	tag string
}

func (*signTagGroup) title() string { return "signature tag" }

func (g *signTagGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tag", Usage: "record `TAG` in the tag annotation (default: the tag of a tag reference, else $CI_COMMIT_SHORT_SHA on GitLab, the short $GITHUB_SHA on GitHub Actions; none with --no-ci-annotations)", EnvVars: []string{"HALLMARK_SIGN_TAG"}, Destination: &g.tag},
	}
}

// resolve returns the tag to record: --tag, else refTag (the tag of a tag
// reference), else, unless noCI, the CI default.
func (g *signTagGroup) resolve(env ci.Env, refTag string, noCI bool) string {
	switch {
	case g.tag != "":
		return g.tag
	case refTag != "":
		return refTag
	case !noCI:
		return env.DefaultTag()
	}
	return ""
}
