package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/internal/parallel"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
)

// signing is the flag groups that say how to sign, shared by sign and
// release, in the order their flags are listed.
type signing struct {
	key         keyGroup
	keyless     keylessGroup
	trustedRoot trustedRootGroup
	sigConfig   signingConfigGroup
	tuf         tufGroup
	tlog        tlogGroup
	tsa         tsaGroup
	servicesTLS servicesTLSGroup
	storage     storageGroup
}

func (s *signing) groups() []signerGroup {
	return []signerGroup{&s.key, &s.keyless, &s.trustedRoot, &s.sigConfig, &s.tuf, &s.tlog, &s.tsa, &s.servicesTLS, &s.storage}
}

func (s *signing) flagGroups() []flagGroup {
	var out []flagGroup
	for _, g := range s.groups() {
		out = append(out, g)
	}
	return out
}

// signCmd is hallmark sign's flags.
type signCmd struct {
	signing     signing
	annotations annotationsGroup
	tag         signTagGroup
	registry    registryGroup
	timeout     timeoutGroup
	cosign      cosignSignGroup
}

func signCommand(e *env) command {
	var cmd signCmd
	return command{
		Command: &cli.Command{
			Name:      "sign",
			Usage:     "sign image digests with cosign (keyless or with a key); prints REPO@sha256:DIGEST for each",
			ArgsUsage: "REGISTRY/REPO@sha256:DIGEST...",
			Description: "Signs the digest as cosign v3 does: a Sigstore bundle (an in-toto statement whose subject carries the\n" +
				"annotations: CI provenance, the tag, -a values) stored as an OCI 1.1 referrer; --new-bundle-format=false\n" +
				"writes cosign v2's simple-signing signature instead, --both-formats both. Keyless (an OIDC token\n" +
				"exchanged at Fulcio) or with --key.\n" +
				"A tag is resolved to its digest once, with a warning, and recorded in the tag annotation.\n" +
				"Signing again with the same identity and annotations adds nothing. Never prompts.\n" +
				"Several images are signed in parallel (at most 10 at once) with one key or certificate; stdout lists\n" +
				"their digests in the order given. If any fails, the others are still signed and the exit code is 4.",
			Action: func(c *cli.Context) error {
				return cmd.timeout.run(c, func(c *cli.Context) error { return cmd.run(c, e) })
			},
		},
		groups: append(cmd.signing.flagGroups(), &cmd.annotations, &cmd.tag, &cmd.registry, &cmd.timeout, &cmd.cosign),
	}
}

// run signs the arguments; the cosign flags decide the registries
// reachable over plain HTTP and where stdout goes.
func (cmd *signCmd) run(c *cli.Context, e *env) error {
	if c.NArg() == 0 {
		return usageErr("sign takes at least one image reference (REGISTRY/REPO@sha256:DIGEST), got none")
	}
	cmd.cosign.insecureHosts(e, c.Args().Slice(), &cmd.registry)
	cmd.cosign.noOps(e, "sign")
	out, done := cmd.cosign.stdout(e)
	se := *e
	se.stdout = out
	return done(cmd.sign(c, &se))
}

func (cmd *signCmd) sign(c *cli.Context, e *env) error {
	ctx := c.Context
	reg := cmd.registry.registry(e)
	opts, err := signerOptions(ctx, e, reg, append(cmd.signing.groups(), &cmd.cosign)...)
	if err != nil {
		return err
	}
	targets := make([]signTarget, c.NArg())
	for i, arg := range c.Args().Slice() {
		if targets[i], err = cmd.target(e, reg, arg); err != nil {
			return err
		}
	}
	// The key is decrypted, or the certificate requested, while the
	// images are looked up.
	pending := release.StartSigner(ctx, opts)
	defer pending.Stop()
	subjects := make([]signer.Subject, len(targets))
	errs := parallel.ForEach(len(targets), parallel.Max, func(i int) (err error) {
		subjects[i], err = signSubject(c, e, reg, targets[i].ref)
		return reg.ExplainRefusal(err, targets[i].ref.Context().RegistryStr(), "request")
	})
	if len(targets) == 1 && errs[0] != nil {
		return inStage(release.StageSign, errs[0])
	}
	if cmd.cosign.recursive {
		targets, subjects, errs = platformTargets(ctx, reg, targets, subjects, errs)
	}
	s, err := pending.Signer(ctx)
	if err != nil {
		return inStage(release.StageSign, err)
	}
	// Several digests are signed in parallel (bounded); the report and
	// stdout follow the order of the arguments.
	results := make([]*signer.Result, len(targets))
	signErrs := parallel.ForEach(len(targets), parallel.Max, func(i int) (err error) {
		if errs[i] == nil {
			results[i], err = s.Sign(ctx, subjects[i], targets[i].annotations)
		}
		return reg.ExplainRefusal(err, targets[i].ref.Context().RegistryStr(), "signature's request")
	})
	for i := range errs {
		errs[i] = errors.Join(errs[i], signErrs[i])
	}
	return reportSigned(e, s.Identity(), targets, results, errs)
}

// reportSigned prints each result in the order of the arguments: the
// summary on stderr, the digest on stdout. Failures are each one line when
// there were several images; the error says how many.
func reportSigned(e *env, identity string, targets []signTarget, results []*signer.Result, errs []error) error {
	var failed []error
	for i, res := range results {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			if len(targets) > 1 {
				fmt.Fprintf(e.stderr, "hallmark: not signed: %s: %s\n", targets[i].ref, oneLine(renderOptions(errs[i].Error())))
			}
			continue
		}
		fmt.Fprintf(e.stderr, "hallmark: %s\n", signSummary(res, identity))
		if _, err := fmt.Fprintln(e.stdout, res.Digest.String()); err != nil {
			return err
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(targets) == 1:
		return inStage(release.StageSign, failed[0])
	}
	return inStage(release.StageSign, fmt.Errorf("%d of %d images not signed; first: %w", len(failed), len(targets), failed[0]))
}

// signTarget is one image to sign and the annotations its signature gets.
type signTarget struct {
	ref         name.Reference
	annotations map[string]string
}

// target parses an image argument and resolves its annotations: the tag
// annotation is --tag, else the tag of a tag reference, else the CI
// default.
func (cmd *signCmd) target(e *env, reg *registry.Registry, arg string) (signTarget, error) {
	ref, err := reg.ParseReference(arg)
	if err != nil {
		return signTarget{}, usageErr("%w", err)
	}
	refTag := ""
	if t, ok := ref.(name.Tag); ok {
		refTag = t.TagStr()
	}
	tag := cmd.tag.resolve(e.ci, refTag, cmd.annotations.noCI)
	ann, err := cmd.annotations.resolve(e.ci, tag, ".")
	if err != nil {
		return signTarget{}, err
	}
	return signTarget{ref: ref, annotations: ann}, nil
}

// signSubject reads the image ref names (one HEAD): a tag is resolved
// once, with a warning; a digest must be in the registry, which would
// otherwise store a signature for a digest it does not have (the legacy
// layout never reads the image), e.g. a mistyped one. The descriptor read
// goes to the signer, which then need not read it again.
func signSubject(c *cli.Context, e *env, reg *registry.Registry, ref name.Reference) (signer.Subject, error) {
	desc, err := remote.Head(ref, reg.RemoteOptions(c.Context)...)
	d, isDigest := ref.(name.Digest)
	var te *transport.Error
	switch {
	case !isDigest && err != nil:
		return signer.Subject{}, fmt.Errorf("resolving %s: %w", ref, err)
	case !isDigest:
		d = ref.Context().Digest(desc.Digest.String())
		warnTagResolved(e, "signing", ref, d)
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return signer.Subject{}, fmt.Errorf("no image %s in the registry: nothing to sign", d)
	case err != nil:
		return signer.Subject{}, fmt.Errorf("reading %s: %w", d, err)
	case desc.Digest.String() != d.DigestStr():
		return signer.Subject{Digest: d}, nil // not this digest's descriptor: the signer reads it if needed
	}
	return signer.Subject{Digest: d, MediaType: desc.MediaType, Size: desc.Size}, nil
}

// warnTagResolved warns that tag ref was resolved to d for verb
// ("signing", "verifying").
func warnTagResolved(e *env, verb string, ref name.Reference, d name.Digest) {
	e.logger().Warn(verb+" a tag: resolved it once; "+strings.TrimSuffix(verb, "ing")+" the digest to avoid "+verb+" what the tag points to later", "tag", ref.String(), "digest", d.String())
}

// count is "1 thing" or "N things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// signSummary is the one-line report on stderr.
func signSummary(res *signer.Result, identity string) string {
	parts := make([]string, 0, len(res.Layouts))
	for _, w := range res.Layouts {
		what := "added"
		if w.Existing {
			what = "already present"
		}
		where := string(w.Layout)
		if w.Format == signer.FormatBundle {
			where = "bundle"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", where, what, w.Ref))
	}
	verb := "signed"
	if !res.Added() {
		verb = "already signed, nothing added:"
	}
	return fmt.Sprintf("%s %s by %s with %s; %s", verb, res.Digest, identity, count(len(res.Annotations), "annotation"), strings.Join(parts, "; "))
}
