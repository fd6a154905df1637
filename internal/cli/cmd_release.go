package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// releaseConfig is the release command's own flags; the build, sign and
// verify flags bind to their commands' configs.
type releaseConfig struct {
	contextDir, image string
	dotenv            string
	recursive         bool
	sign              signConfig
	verify            verifyConfig
}

// releaseVerifyFlags are the verify flags release offers; the others
// (--key, -a, --trusted-root, --rekor-url) come from signing.
var releaseVerifyFlags = []string{
	"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp",
	"ca-roots", "ca-intermediates", "timestamp-certificate-chain", "insecure-ignore-tlog", "insecure-ignore-sct",
}

func releaseCommand() *cli.Command {
	var cfg releaseConfig
	own := []cli.Flag{
		&cli.StringFlag{Name: "context", Value: ".", Usage: "build context `DIR`", EnvVars: []string{"HALLMARK_CONTEXT"}, Destination: &cfg.contextDir},
		&cli.StringFlag{Name: "image", Usage: "image `REPOSITORY` to push to (default: $CI_REGISTRY_IMAGE on GitLab, ghcr.io/$GITHUB_REPOSITORY on GitHub Actions)", EnvVars: []string{"HALLMARK_IMAGE"}, Destination: &cfg.image},
		&cli.StringFlag{Name: "dotenv", Usage: "write IMAGE_DIGEST, IMAGE_URI and IMAGE_REF to `FILE` (GitLab artifacts:reports:dotenv)", EnvVars: []string{"HALLMARK_DOTENV"}, Destination: &cfg.dotenv},
		&cli.BoolFlag{Name: "recursive", Usage: "also sign (and verify) every platform manifest of a multi-platform index", EnvVars: []string{"HALLMARK_RECURSIVE"}, Destination: &cfg.recursive},
	}
	signF := slices.DeleteFunc(signFlags(&cfg.sign), func(f cli.Flag) bool { return f.Names()[0] == "tag" })
	verifyF := slices.DeleteFunc(verifyFlags(&cfg.verify), func(f cli.Flag) bool { return !slices.Contains(releaseVerifyFlags, f.Names()[0]) })
	flags := slices.Concat(own, buildkitFlags(), buildFlags(), signF, cfg.sign.annotations.flags(), verifyF, registryFlags())
	return &cli.Command{
		Name:  "release",
		Usage: "build and push an image, sign its digest and verify the signature; prints the result as JSON",
		Description: "The whole CI job in one step: builds --context on buildkitd and pushes every --tag, signs the digest\n" +
			"buildkitd reported (keyless with the CI's OIDC token, or --key) with the CI provenance annotations,\n" +
			"then verifies that signature: with --key's public key, the --certificate-identity/--certificate-oidc-issuer\n" +
			"given, the CI job's own identity, or else the signing certificate's identity.\n" +
			"--tag takes a tag (pushed to --image) or a full REGISTRY/REPO:TAG. Exit codes: 2 usage, 3 build/push, 4 sign, 5 verify.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("release takes no arguments (the context is --context), got %q", c.Args().First())
			}
			return runRelease(c, &cfg)
		},
	}
}

// releaseTags turns --image and --tag values into full tag references,
// with the CI defaults when they are not given.
func releaseTags(env ci.Env, image string, tags []string) ([]string, error) {
	if image == "" {
		image = env.DefaultImage()
	}
	if len(tags) == 0 {
		if t := env.DefaultTag(); t != "" {
			tags = []string{t}
		}
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("no tag: give --tag TAG (in GitLab CI or GitHub Actions the short commit SHA is the default)")
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		switch {
		case strings.Contains(t, "/"):
			out = append(out, t)
		case image == "":
			return nil, fmt.Errorf("no image: give --image REGISTRY/REPOSITORY or a full --tag REGISTRY/REPOSITORY:TAG (in GitLab CI $CI_REGISTRY_IMAGE is the default)")
		default:
			out = append(out, image+":"+t)
		}
	}
	return out, nil
}

func runRelease(c *cli.Context, cfg *releaseConfig) error {
	env := ciEnv()
	reg := newRegistry(c)
	tags, err := releaseTags(env, cfg.image, splitCommas(c.StringSlice("tag")))
	if err != nil {
		return usageErr("%w", err)
	}
	bcfg := bindBuildConfig(c, cfg.contextDir)
	bcfg.tags, bcfg.metadataFile = tags, ""
	signOpts, err := cfg.sign.signerOptions(c.Context)
	if err != nil {
		return err
	}
	signOpts.RemoteOptions, signOpts.Logger = reg.RemoteOptions(c.Context), logger(c)
	signOpts.ShortestRoundTrip = reg.ShortestRoundTrip
	if signOpts.Key == "" {
		if err := signErr(env, signer.CheckToken(signOpts.IdentityToken, signOpts.TokenAudience)); err != nil {
			return err
		}
	}
	first, err := reg.ParseTag(tags[0])
	if err != nil {
		return usageErr("%w", err)
	}
	ann, err := cfg.sign.annotations.resolve(env, first.TagStr(), cfg.contextDir)
	if err != nil {
		return err
	}
	policy, err := cfg.verify.policy()
	if err != nil {
		return err
	}
	policy.Annotations = ann

	// The key is decrypted, or the keyless certificate requested, and the
	// verification's trust material loaded while the build runs; the push
	// waits for them, so that an image that cannot be signed or verified
	// (a wrong key password, Fulcio refusing the token, an unreadable CA
	// file) is never pushed.
	pending := startSigner(c.Context, signOpts)
	defer pending.stop()
	var rd *ready
	var notReady error
	bcfg.req.BeforeExport = func(ctx context.Context) error {
		rd, notReady = prepareRelease(ctx, c, env, reg, cfg, pending, policy)
		return notReady
	}
	end := env.Section(c.App.ErrWriter, "hallmark_build", "hallmark: build and push "+strings.Join(tags, ", "))
	built, err := build(c, bcfg, reg)
	end()
	if notReady != nil {
		return notReady
	}
	if err != nil {
		return err
	}
	rel := &releaseResult{Image: built.Image.String(), Digest: built.Digest.String(), Tags: built.Tags, Platforms: built.Platforms}
	subjects := signTargets(built, cfg.recursive)

	// Each digest's verification starts as soon as its signature is
	// stored, while the signer's read-backs confirm it stayed; its
	// results are reported in the verify section.
	end = env.Section(c.App.ErrWriter, "hallmark_sign", "hallmark: sign "+built.Image.String())
	verified, err := releaseSign(c, rd, subjects, ann, rel)
	end()
	if err != nil {
		return err
	}

	end = env.Section(c.App.ErrWriter, "hallmark_verify", "hallmark: verify "+built.Image.String())
	err = reportVerified(c, rd, verified, rel)
	end()
	if err != nil {
		return err
	}
	return writeReleaseOutputs(c, env, cfg, rel)
}

// signTargets are what a release signs: the pushed manifest or index, and
// with recursive each platform's manifest, with their descriptors as the
// build reported them (signing need not read them again).
func signTargets(built *builder.Result, recursive bool) []signer.Subject {
	out := []signer.Subject{{Digest: built.Image, MediaType: types.MediaType(built.MediaType), Size: built.Size}}
	if recursive {
		for _, p := range built.Platforms {
			out = append(out, signer.Subject{Digest: built.Image.Context().Digest(p.Digest.String()),
				MediaType: types.MediaType(p.MediaType), Size: p.Size})
		}
	}
	return out
}

// ready is what a release needs before it pushes: the signer, and the
// verifier of its signatures with the policy it checks.
type ready struct {
	signer   *signer.Signer
	verifier *verifier.Verifier
	policy   verifier.Policy
}

// prepareRelease waits (within ctx) for the signer pending prepares and
// loads the verifier for the policy completed from it. Errors carry their
// exit code: bad input 2, signing 4, verification 5.
func prepareRelease(ctx context.Context, c *cli.Context, env ci.Env, reg *registry.Registry, cfg *releaseConfig,
	pending *pendingSigner, policy verifier.Policy) (*ready, error) {
	s, err := pending.signer(ctx)
	if err != nil {
		return nil, signErr(env, err)
	}
	p, err := releasePolicy(env, s, policy)
	if err != nil {
		return nil, err
	}
	trust := cfg.verify.trust()
	trust.TrustedRoot = cfg.sign.trustedRoot
	if cfg.sign.tlogUpload {
		trust.RekorURL = cfg.sign.rekorURL
	}
	v, err := verifier.New(c.Context, verifier.Options{
		RemoteOptions: reg.RemoteOptions(c.Context), Logger: logger(c), Policy: p, Trust: trust,
		Layouts: writtenLayouts(signer.Mode(cfg.sign.mode)),
	})
	if err != nil {
		return nil, verifyErr(err)
	}
	return &ready{signer: s, verifier: v, policy: p}, nil
}

// releaseSign signs every digest, in parallel (bounded) when --recursive
// gives several, and verifies each as soon as its signature is stored:
// the verification overlaps the signer's read-backs. A verification that
// fails while the signer had to write again (a concurrent writer dropped
// the signature in between) is made once more after signing. The report
// follows the order of the digests; the verifications' outcomes are
// returned for reportVerified.
func releaseSign(c *cli.Context, rd *ready, subjects []signer.Subject, ann map[string]string, rel *releaseResult) ([]verification, error) {
	s := rd.signer
	results := make([]*signer.Result, len(subjects))
	verified := make([]verification, len(subjects))
	errs := forEach(len(subjects), maxParallel, func(i int) (err error) {
		sign := func(stored func()) (*signer.Result, error) {
			return s.SignSubjectNotify(c.Context, subjects[i], ann, stored)
		}
		verify := func() (*verifier.Result, error) { return rd.verifier.Verify(c.Context, subjects[i].Digest) }
		results[i], verified[i], err = signThenVerify(sign, verify)
		return err
	})
	if err := firstError(errs); err != nil {
		return nil, stage(exitSign, err)
	}
	for i, res := range results {
		fmt.Fprintf(c.App.ErrWriter, "hallmark: %s\n", signSummary(res, s.Identity()))
		rel.Signatures = append(rel.Signatures, releaseSignature{Digest: subjects[i].Digest.DigestStr(), Mode: string(res.Mode), Annotations: res.Annotations})
	}
	return verified, nil
}

// signThenVerify signs (sign calls stored once the signature is stored)
// and verifies: from stored on, alongside the signer's read-backs, and
// once more afterwards if that failed while the signer had to write again
// (a concurrent writer dropped the signature in between), or if stored was
// never called. verify is not called when signing fails.
func signThenVerify(sign func(stored func()) (*signer.Result, error), verify func() (*verifier.Result, error)) (*signer.Result, verification, error) {
	var v verification
	done := make(chan struct{})
	started := false
	res, err := sign(func() {
		started = true
		go func() {
			defer close(done)
			v.res, v.err = verify()
		}()
	})
	if started {
		<-done
	}
	if err != nil {
		return nil, verification{}, err
	}
	if !started || v.err != nil && rewritten(res) {
		v.res, v.err = verify()
	}
	return res, v, nil
}

// verification is one digest's verification outcome.
type verification struct {
	res *verifier.Result
	err error
}

// rewritten reports whether signing wrote a layout more than once.
func rewritten(res *signer.Result) bool {
	for _, w := range res.Layouts {
		if w.Attempts > 1 {
			return true
		}
	}
	return false
}

// releasePolicy completes the verification policy: flags given win; a key
// release verifies with the signer's public key; keyless with the CI job's
// identity and issuer, or else those in the signing certificate — each of
// the two where no flag gave it, so that overriding one keeps the other.
func releasePolicy(env ci.Env, s *signer.Signer, p verifier.Policy) (verifier.Policy, error) {
	hasIdentity := p.Identity != "" || p.IdentityRegexp != ""
	hasIssuer := p.Issuer != "" || p.IssuerRegexp != ""
	if subject, issuer, ok := s.CertificateIdentity(); ok {
		if cp, err := env.Policy(); err == nil {
			subject, issuer = cp.Identity, cp.Issuer
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
		return p, stage(exitVerify, err)
	}
	p.PublicKey = pk
	return p, nil
}

// reportVerified reports the verifications releaseSign made (with the
// verifier prepared before the push).
func reportVerified(c *cli.Context, rd *ready, verified []verification, rel *releaseResult) error {
	errs := make([]error, len(verified))
	for i, v := range verified {
		errs[i] = v.err
	}
	if err := firstError(errs); err != nil {
		return stage(exitVerify, fmt.Errorf("signature written but verification failed: %w", err))
	}
	for _, v := range verified {
		fmt.Fprintf(c.App.ErrWriter, "hallmark: %s\n", verifySummary(v.res, rd.policy))
	}
	rel.Verified = releaseVerified{Identity: rd.policy.Identity, Issuer: rd.policy.Issuer}
	if rd.policy.PublicKey != nil {
		rel.Verified.Key = "signer's public key"
	}
	return nil
}

// writtenLayouts are the layouts a release signing in mode has just
// written, the only ones its verification needs to look at (hallmark verify
// on its own searches every layout).
func writtenLayouts(mode signer.Mode) []verifier.Layout {
	switch mode {
	case signer.ModeLegacy:
		return []verifier.Layout{verifier.LayoutLegacy}
	case signer.ModeOCI11:
		return []verifier.Layout{verifier.LayoutReferrers, verifier.LayoutFallback}
	}
	return nil // both: every layout
}
