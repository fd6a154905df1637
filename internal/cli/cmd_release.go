package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// releaseGroup is release's own flags.
type releaseGroup struct {
	contextDir, dotenv string
	recursive          bool
}

func (*releaseGroup) title() string { return "release" }

func (g *releaseGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "context", Value: ".", Usage: "build context `DIR`", EnvVars: []string{"HALLMARK_CONTEXT"}, Destination: &g.contextDir},
		&cli.StringFlag{Name: "dotenv", Usage: "write IMAGE_DIGEST (REPO@sha256:DIGEST, as in GitLab's signing tutorial), IMAGE_DIGEST_BARE (sha256:DIGEST), IMAGE_URI (the first tag) and IMAGE_REF (= IMAGE_DIGEST) to `FILE` (GitLab artifacts:reports:dotenv)", EnvVars: []string{"HALLMARK_DOTENV"}, Destination: &g.dotenv},
		&cli.BoolFlag{Name: "recursive", Usage: "also sign (and verify) every platform manifest of a multi-platform index", EnvVars: []string{"HALLMARK_RECURSIVE"}, Destination: &g.recursive},
	}
}

// imageGroup is the repository a release pushes to.
type imageGroup struct {
	image string
}

func (*imageGroup) title() string { return "image" }

func (g *imageGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image", Usage: "image `REPOSITORY` a release pushes to (default: $CI_REGISTRY_IMAGE on GitLab, ghcr.io/$GITHUB_REPOSITORY on GitHub Actions)", EnvVars: []string{"HALLMARK_IMAGE"}, Destination: &g.image},
	}
}

// repository is --image, or the CI default.
func (g *imageGroup) repository(env ci.Env) string {
	if g.image != "" {
		return g.image
	}
	return env.DefaultImage()
}

// releaseCmd is hallmark release's flags: the build's, the signing's and
// the verification's identity and trust.
type releaseCmd struct {
	release     releaseGroup
	cache       cacheGroup
	image       imageGroup
	connect     connectGroup
	build       buildGroup
	sbom        sbomGroup
	output      outputGroup
	signing     signing
	annotations annotationsGroup
	identity    identityGroup
	trust       trustGroup
	registry    registryGroup
}

func releaseCommand(e *env) command {
	var cmd releaseCmd
	cmd.build.release = true
	groups := []flagGroup{&cmd.release, &cmd.image, &cmd.connect, &cmd.build, &cmd.sbom, &cmd.cache, &cmd.output}
	groups = append(groups, cmd.signing.flagGroups()...)
	return command{
		Command: &cli.Command{
			Name:  "release",
			Usage: "build and push an image, sign its digest and verify the signature; prints the result as JSON",
			Description: "The whole CI job in one step: builds --context on buildkitd and pushes it by digest, signs the digest\n" +
				"buildkitd reported (keyless with the CI's OIDC token, or --key) with the CI provenance annotations,\n" +
				"verifies that signature (with --key's public key, the --certificate-identity/--certificate-oidc-issuer\n" +
				"given, the CI job's own identity, or else the signing certificate's identity), and only then creates\n" +
				"every --tag: a tag only ever names a signed image; a failed release leaves no new tag.\n" +
				"--tag takes a tag (pushed to --image) or a full REGISTRY/REPO:TAG. Exit codes: 2 usage, 3 build/push, 4 sign, 5 verify.",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usageErr("release takes no arguments (the context is --context), got %q", c.Args().First())
				}
				return cmd.run(c, e)
			},
		},
		groups: append(groups, &cmd.annotations, &cmd.identity, &cmd.trust, &cmd.registry),
	}
}

// releaseTags turns --image and --tag values into full tag references,
// with the CI defaults when they are not given.
func releaseTags(env ci.Env, image string, tags []string) ([]string, error) {
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

func (cmd *releaseCmd) run(c *cli.Context, e *env) error {
	opts, err := cmd.options(c, e)
	if err != nil {
		return err
	}
	res, err := release.Run(c.Context, opts)
	if err != nil {
		return err
	}
	return cmd.writeOutputs(e, newReleaseResult(res, cmd.signing.key.key))
}

// options translates the flags and the CI environment into the release's
// options, once. Bad input is a usage error.
func (cmd *releaseCmd) options(c *cli.Context, e *env) (release.Options, error) {
	ctx := c.Context
	if err := checkOutputFiles(map[string]string{"--dotenv": cmd.release.dotenv, "--metadata-file": cmd.output.metadataFile}); err != nil {
		return release.Options{}, err
	}
	reg := cmd.registry.registry(e)
	tags, err := releaseTags(e.ci, cmd.image.repository(e.ci), cmd.build.tags)
	if err != nil {
		return release.Options{}, usageErr("%w", err)
	}
	signOpts, err := signerOptions(ctx, e, reg, cmd.signing.groups()...)
	if err != nil {
		return release.Options{}, err
	}
	nodes, balance, err := cmd.connect.pool()
	if err != nil {
		return release.Options{}, err
	}
	if w := cmd.connect.unusedBalance("release"); w != "" {
		e.logger().Warn(w)
	}
	// Signed provenance is a bundle attestation: on by default with
	// bundles (one node or a pool), off by default without.
	switch {
	case !c.IsSet("provenance"):
		cmd.build.provenance = signOpts.Bundle
	case cmd.build.provenance && !signOpts.Bundle:
		return release.Options{}, usageErr("--provenance signs the provenance as a bundle attestation: drop --new-bundle-format=false, or --provenance")
	}
	first, err := reg.ParseTag(tags[0])
	if err != nil {
		return release.Options{}, usageErr("%w", err)
	}
	ann, err := cmd.annotations.resolve(e.ci, first.TagStr(), cmd.release.contextDir)
	if err != nil {
		return release.Options{}, err
	}
	policy, err := cmd.identity.policy(nil)
	if err != nil {
		return release.Options{}, err
	}
	policy.Annotations = ann
	req := cmd.build.request(cmd.release.contextDir, e)
	if err := cmd.sbom.apply(&req); err != nil {
		return release.Options{}, err
	}
	o := release.Options{
		Pool:          nodes,
		Balance:       balance,
		RegistryCache: cmd.cache.registryCache(e.ci, cmd.build),
		Build: release.BuildOptions{
			Connect:  cmd.connect.options(),
			Request:  req,
			Tags:     tags,
			Registry: reg,
		},
		Signer:      signOpts,
		Annotations: ann,
		Recursive:   cmd.release.recursive,
		Policy:      policy,
		Trust:       cmd.signing.tuf.withTUF(cmd.trust.trust(cmd.signing.trustedRoot.path, cmd.signing.tlog.verifyRekorURL())),
		Logger:      e.logger(),
		Observer:    &releaseObserver{e: e},
	}
	if job, err := e.ci.Policy(); err == nil {
		o.JobIdentity = &job
	}
	return o, nil
}

// releaseObserver prints a release's stages as collapsible CI log
// sections on stderr, with a summary line per signature and verification.
type releaseObserver struct{ e *env }

func (o *releaseObserver) Stage(s release.Stage, title string) func() {
	return o.e.ci.Section(o.e.stderr, "hallmark_"+s.String(), "hallmark: "+title)
}

func (o *releaseObserver) Signed(res *signer.Result, identity string) {
	fmt.Fprintf(o.e.stderr, "hallmark: %s\n", signSummary(res, identity))
}

func (o *releaseObserver) Verified(res *verifier.Result, p verifier.Policy) {
	fmt.Fprintf(o.e.stderr, "hallmark: %s\n", verifySummary(res, p))
}
