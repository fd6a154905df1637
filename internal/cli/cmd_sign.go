package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
)

// signConfig is the sign command's flags, bound once.
type signConfig struct {
	key, keyPassword          string
	certificate, chain        string
	token, tokenFile          string
	ambientToken              string // $SIGSTORE_ID_TOKEN
	ghRequestURL, ghRequest   string // GitHub Actions' ID token request
	fulcioURL, rekorURL       string
	tsaURL, trustedRoot       string
	serviceCA                 string
	tlogUpload, insecureNoSCT bool
	mode, tag                 string
	annotations               annotationOptions
}

func signCommand() *cli.Command {
	var cfg signConfig
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign image digests with cosign (keyless or with a key); prints REPO@sha256:DIGEST for each",
		ArgsUsage: "REGISTRY/REPO@sha256:DIGEST...",
		Description: "Signs the digest with a cosign v2 simple-signing signature carrying the annotations (CI provenance,\n" +
			"the tag, -a values) in its payload, keyless (an OIDC token exchanged at Fulcio) or with --key.\n" +
			"A tag is resolved to its digest once, with a warning, and recorded in the tag annotation.\n" +
			"Signing again with the same identity and annotations adds nothing. Never prompts.\n" +
			"Several images are signed in parallel (at most 10 at once) with one key or certificate; stdout lists\n" +
			"their digests in the order given. If any fails, the others are still signed and the exit code is 4.",
		OnUsageError: onUsageError,
		Flags:        append(append(signFlags(&cfg), cfg.annotations.flags()...), registryFlags()...),
		Action: func(c *cli.Context) error {
			return runSign(c, &cfg)
		},
	}
}

func signFlags(cfg *signConfig) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "sign with this private key: a cosign.key `PATH` (password from $COSIGN_PASSWORD), env://VAR, or a KMS URI", EnvVars: []string{"HALLMARK_KEY"}, Destination: &cfg.key},
		&cli.StringFlag{Name: "key-password", Hidden: true, EnvVars: []string{"COSIGN_PASSWORD"}, Destination: &cfg.keyPassword},
		&cli.StringFlag{Name: "certificate", Usage: "attach this certificate `FILE` (PEM or DER) for --key", EnvVars: []string{"HALLMARK_CERTIFICATE"}, Destination: &cfg.certificate},
		&cli.StringFlag{Name: "certificate-chain", Usage: "attach this PEM chain `FILE` for --certificate", EnvVars: []string{"HALLMARK_CERTIFICATE_CHAIN"}, Destination: &cfg.chain},
		&cli.StringFlag{Name: "identity-token", Usage: "OIDC ID `TOKEN` for keyless signing (audience sigstore); then --identity-token-file, $SIGSTORE_ID_TOKEN, GitHub Actions' $ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN", EnvVars: []string{"HALLMARK_IDENTITY_TOKEN"}, Destination: &cfg.token},
		&cli.StringFlag{Name: "identity-token-file", Usage: "read the OIDC ID token from `FILE`", EnvVars: []string{"HALLMARK_IDENTITY_TOKEN_FILE"}, Destination: &cfg.tokenFile},
		&cli.StringFlag{Name: "sigstore-id-token", Hidden: true, EnvVars: []string{"SIGSTORE_ID_TOKEN"}, Destination: &cfg.ambientToken},
		&cli.StringFlag{Name: "actions-id-token-request-url", Hidden: true, EnvVars: []string{"ACTIONS_ID_TOKEN_REQUEST_URL"}, Destination: &cfg.ghRequestURL},
		&cli.StringFlag{Name: "actions-id-token-request-token", Hidden: true, EnvVars: []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, Destination: &cfg.ghRequest},
		&cli.StringFlag{Name: "fulcio-url", Value: signer.DefaultFulcioURL, Usage: "Fulcio `URL` for keyless signing", EnvVars: []string{"HALLMARK_FULCIO_URL"}, Destination: &cfg.fulcioURL},
		&cli.BoolFlag{Name: "insecure-skip-verify", Usage: "accept a Fulcio certificate without a verifiable SCT (private Fulcio without a CT log)", EnvVars: []string{"HALLMARK_INSECURE_SKIP_VERIFY"}, Destination: &cfg.insecureNoSCT},
		&cli.StringFlag{Name: "trusted-root", Usage: "sigstore trusted_root.json `FILE` for checking Fulcio's SCT", EnvVars: []string{"HALLMARK_TRUSTED_ROOT"}, Destination: &cfg.trustedRoot},
		&cli.StringFlag{Name: "rekor-url", Value: signer.DefaultRekorURL, Usage: "Rekor `URL`", EnvVars: []string{"HALLMARK_REKOR_URL"}, Destination: &cfg.rekorURL},
		&cli.BoolFlag{Name: "tlog-upload", Value: true, Usage: "record the signature in the Rekor transparency log", EnvVars: []string{"HALLMARK_TLOG_UPLOAD"}, Destination: &cfg.tlogUpload},
		&cli.StringFlag{Name: "timestamp-server-url", Usage: "get an RFC 3161 timestamp for the signature from this TSA `URL`", EnvVars: []string{"HALLMARK_TIMESTAMP_SERVER_URL"}, Destination: &cfg.tsaURL},
		&cli.StringFlag{Name: "sigstore-ca-cert", Usage: "extra PEM CA `FILE` trusted for TLS to Fulcio, Rekor and the TSA", EnvVars: []string{"HALLMARK_SIGSTORE_CA_CERT"}, Destination: &cfg.serviceCA},
		&cli.StringFlag{Name: "registry-referrers-mode", Value: string(signer.ModeLegacy), Usage: "store the signature as `MODE`: legacy (the .sig tag), oci-1-1 (an OCI 1.1 referrer) or both", EnvVars: []string{"HALLMARK_REGISTRY_REFERRERS_MODE"}, Destination: &cfg.mode},
		&cli.StringFlag{Name: "tag", Usage: "record `TAG` in the tag annotation (default: the tag of a tag reference, else $CI_COMMIT_SHORT_SHA on GitLab, the short $GITHUB_SHA on GitHub Actions)", EnvVars: []string{"HALLMARK_SIGN_TAG"}, Destination: &cfg.tag},
	}
}

func runSign(c *cli.Context, cfg *signConfig) error {
	if c.NArg() == 0 {
		return usageErr("sign takes at least one image reference (REGISTRY/REPO@sha256:DIGEST), got none")
	}
	opts, err := cfg.signerOptions(c.Context)
	if err != nil {
		return err
	}
	reg := newRegistry(c)
	env := ciEnv()
	targets := make([]signTarget, c.NArg())
	for i, arg := range c.Args().Slice() {
		if targets[i], err = cfg.target(env, reg, arg); err != nil {
			return err
		}
	}
	ctx := c.Context
	opts.RemoteOptions, opts.Logger = reg.RemoteOptions(ctx), logger(c)
	opts.ShortestRoundTrip = reg.ShortestRoundTrip
	// The key is decrypted, or the certificate requested, while the
	// images are looked up.
	pending := startSigner(ctx, opts)
	defer pending.stop()
	subjects := make([]signer.Subject, len(targets))
	errs := forEach(len(targets), maxParallel, func(i int) (err error) {
		subjects[i], err = signSubject(c, reg, targets[i].ref)
		return err
	})
	if len(targets) == 1 && errs[0] != nil {
		return stage(exitSign, errs[0])
	}
	s, err := pending.signer(ctx)
	if err != nil {
		return signErr(env, err)
	}
	// Several digests are signed in parallel (bounded); the report and
	// stdout follow the order of the arguments.
	results := make([]*signer.Result, len(targets))
	signErrs := forEach(len(targets), maxParallel, func(i int) (err error) {
		if errs[i] == nil {
			results[i], err = s.SignSubject(ctx, subjects[i], targets[i].annotations)
		}
		return err
	})
	for i := range errs {
		errs[i] = errors.Join(errs[i], signErrs[i])
	}
	return reportSigned(c, s.Identity(), targets, results, errs)
}

// reportSigned prints each result in the order of the arguments: the
// summary on stderr, the digest on stdout. Failures are each one line when
// there were several images; the error says how many.
func reportSigned(c *cli.Context, identity string, targets []signTarget, results []*signer.Result, errs []error) error {
	var failed []error
	for i, res := range results {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			if len(targets) > 1 {
				fmt.Fprintf(c.App.ErrWriter, "hallmark: not signed: %s: %s\n", targets[i].ref, oneLine(errs[i].Error()))
			}
			continue
		}
		fmt.Fprintf(c.App.ErrWriter, "hallmark: %s\n", signSummary(res, identity))
		if _, err := fmt.Fprintln(c.App.Writer, res.Digest.String()); err != nil {
			return err
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(targets) == 1:
		return stage(exitSign, failed[0])
	}
	return stage(exitSign, fmt.Errorf("%d of %d images not signed; first: %w", len(failed), len(targets), failed[0]))
}

// signTarget is one image to sign and the annotations its signature gets.
type signTarget struct {
	ref         name.Reference
	annotations map[string]string
}

// target parses an image argument and resolves its annotations: the tag
// annotation is --tag, else the tag of a tag reference, else the CI
// default.
func (cfg *signConfig) target(env ci.Env, reg *registry.Registry, arg string) (signTarget, error) {
	ref, err := reg.ParseReference(arg)
	if err != nil {
		return signTarget{}, usageErr("%w", err)
	}
	tag := cfg.tag
	if t, ok := ref.(name.Tag); ok && tag == "" {
		tag = t.TagStr()
	}
	if tag == "" && !cfg.annotations.noCI {
		tag = env.DefaultTag()
	}
	ann, err := cfg.annotations.resolve(env, tag, ".")
	if err != nil {
		return signTarget{}, err
	}
	return signTarget{ref: ref, annotations: ann}, nil
}

// signerOptions translates the flags into signer options; bad
// combinations and unreadable token files are usage errors.
func (cfg *signConfig) signerOptions(ctx context.Context) (signer.Options, error) {
	mode, err := signer.ParseMode(cfg.mode)
	if err != nil {
		return signer.Options{}, usageErr("--registry-referrers-mode: %w", err)
	}
	o := signer.Options{
		Mode: mode, Key: cfg.key, Password: []byte(cfg.keyPassword),
		Certificate: cfg.certificate, CertificateChain: cfg.chain,
		FulcioURL: cfg.fulcioURL, InsecureSkipSCT: cfg.insecureNoSCT, TrustedRoot: cfg.trustedRoot,
		RekorURL: cfg.rekorURL, SkipTlogUpload: !cfg.tlogUpload, TimestampServerURL: cfg.tsaURL,
		ServiceCACert: cfg.serviceCA, UserAgent: version.UserAgent(),
	}
	if cfg.key != "" {
		return o, nil // a key wins over an ambient $SIGSTORE_ID_TOKEN
	}
	o.IdentityToken, err = cfg.identityToken(ctx)
	return o, err
}

// identityToken picks the OIDC token: --identity-token, then
// --identity-token-file, then $SIGSTORE_ID_TOKEN, then a GitHub Actions
// job's token exchange. Explicit flags win over the ambient token.
func (cfg *signConfig) identityToken(ctx context.Context) (string, error) {
	switch {
	case cfg.token != "":
		return cfg.token, nil
	case cfg.tokenFile != "":
		b, err := os.ReadFile(cfg.tokenFile)
		if err != nil {
			return "", usageErr("reading --identity-token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case cfg.ambientToken != "":
		return cfg.ambientToken, nil
	case cfg.ghRequestURL != "" && cfg.ghRequest != "":
		tok, err := signer.GitHubActionsToken(ctx, cfg.ghRequestURL, cfg.ghRequest, "")
		if err != nil {
			return "", stage(exitSign, err)
		}
		return tok, nil
	}
	return "", nil
}

// resolveDigest returns ref's digest, resolving a tag once with a warning.
func resolveDigest(c *cli.Context, reg *registry.Registry, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(ref, reg.RemoteOptions(c.Context)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	d := ref.Context().Digest(desc.Digest.String())
	logger(c).Warn("signing a tag: resolved it once; sign the digest to avoid signing what the tag points to later", "tag", ref.String(), "digest", d.String())
	return d, nil
}

// signSubject reads the image ref names (one HEAD): a tag is resolved
// once, with a warning; a digest must be in the registry, which would
// otherwise store a signature for a digest it does not have (the legacy
// layout never reads the image), e.g. a mistyped one. The descriptor read
// goes to the signer, which then need not read it again.
func signSubject(c *cli.Context, reg *registry.Registry, ref name.Reference) (signer.Subject, error) {
	desc, err := remote.Head(ref, reg.RemoteOptions(c.Context)...)
	d, isDigest := ref.(name.Digest)
	var te *transport.Error
	switch {
	case !isDigest && err != nil:
		return signer.Subject{}, fmt.Errorf("resolving %s: %w", ref, err)
	case !isDigest:
		d = ref.Context().Digest(desc.Digest.String())
		logger(c).Warn("signing a tag: resolved it once; sign the digest to avoid signing what the tag points to later", "tag", ref.String(), "digest", d.String())
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return signer.Subject{}, fmt.Errorf("no image %s in the registry: nothing to sign", d)
	case err != nil:
		return signer.Subject{}, fmt.Errorf("reading %s: %w", d, err)
	case desc.Digest.String() != d.DigestStr():
		return signer.Subject{Digest: d}, nil // not this digest's descriptor: the signer reads it if needed
	}
	return signer.Subject{Digest: d, MediaType: desc.MediaType, Size: desc.Size}, nil
}

// signErr maps signer setup errors to exit codes: bad options, tokens and
// key passwords are usage errors; unreachable services a signing failure.
func signErr(env ci.Env, err error) error {
	var te *signer.TokenError
	switch {
	case errors.As(err, &te) && te.Reason == signer.TokenMissing:
		hint := env.OIDC().Hint
		if hint == "" {
			hint = "set SIGSTORE_ID_TOKEN, pass --identity-token or --identity-token-file, or pass --key"
		}
		return usageErr("no OIDC identity token for keyless signing: %s", hint)
	case errors.As(err, &te):
		return usageErr("%w", err)
	case errors.Is(err, signer.ErrConfig), errors.Is(err, signer.ErrKeyPassword), errors.Is(err, fs.ErrNotExist):
		return usageErr("%w", err)
	}
	return stage(exitSign, err)
}

// signSummary is the one-line report on stderr.
func signSummary(res *signer.Result, identity string) string {
	parts := make([]string, 0, len(res.Layouts))
	for _, w := range res.Layouts {
		what := "added"
		if w.Existing {
			what = "already present"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", w.Layout, what, w.Ref))
	}
	verb := "signed"
	if !res.Added() {
		verb = "already signed, nothing added:"
	}
	return fmt.Sprintf("%s %s by %s with %d annotations; %s", verb, res.Digest, identity, len(res.Annotations), strings.Join(parts, "; "))
}
