package cli

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/verifier"
)

// verifyCmd is hallmark verify's flags.
type verifyCmd struct {
	policy      policyGroup
	provenance  provenanceCheckGroup
	identity    identityGroup
	trustedRoot trustedRootGroup
	trust       trustGroup
	tuf         tufGroup
	rekor       verifyRekorGroup
	registry    registryGroup
	timeout     timeoutGroup
	cosign      cosignVerifyGroup
}

func verifyCommand(e *env) command {
	var cmd verifyCmd
	return command{
		Command: &cli.Command{
			Name:      "verify",
			Usage:     "verify an image's cosign signatures; prints them as `cosign verify` does (JSON)",
			ArgsUsage: "REGISTRY/REPO@sha256:DIGEST",
			Description: "Checks every signature of the digest, in every format and layout (cosign v3's Sigstore bundles and\n" +
				"cosign v2's simple signatures: the .sig tag, OCI 1.1 referrers through the referrers API or the fallback\n" +
				"index; a bundle never hides another signature), and passes when one satisfies the policy: --key, or a certificate\n" +
				"identity and OIDC issuer, plus every -a annotation. Without a policy in GitLab CI or GitHub Actions the\n" +
				"job's own identity is expected.\n" +
				"stdout: the JSON array cosign verify prints; stderr: a one-line summary and the cosign v3 command that checks\n" +
				"the same (ready to paste), or why each signature failed.",
			Action: func(c *cli.Context) error {
				return cmd.timeout.run(c, func(c *cli.Context) error { return cmd.run(c, e) })
			},
		},
		groups: []flagGroup{&cmd.policy, &cmd.provenance, &cmd.identity, &cmd.trustedRoot, &cmd.tuf, &cmd.trust, &cmd.rekor, &cmd.registry, &cmd.timeout, &cmd.cosign},
	}
}

// run verifies the argument; the cosign flags decide the registries
// reachable over plain HTTP and where stdout goes.
func (cmd *verifyCmd) run(c *cli.Context, e *env) error {
	if c.NArg() != 1 {
		return usageErr("verify takes one image reference (REGISTRY/REPO@sha256:DIGEST), got %d arguments", c.NArg())
	}
	cmd.cosign.insecureHosts(e, c.Args().Slice(), &cmd.registry)
	out, done := cmd.cosign.stdout(e)
	ve := *e
	ve.stdout = out
	return done(cmd.verify(c, &ve))
}

func (cmd *verifyCmd) verify(c *cli.Context, e *env) error {
	policy, err := cmd.identity.policy(&cmd.policy)
	if err != nil {
		return err
	}
	if err := cmd.cosign.apply(e, &policy, cmd.rekor.url); err != nil {
		return err
	}
	reg := cmd.registry.registry(e)
	ref, err := reg.ParseReference(c.Args().First())
	if err != nil {
		return usageErr("%w", err)
	}
	if policy, err = ciPolicy(e, policy); err != nil {
		return err
	}
	host := ref.Context().RegistryStr()
	digest, err := resolveDigest(c, e, reg, ref)
	if err != nil {
		return inStage(release.StageVerify, reg.ExplainRefusal(err, host, "request"))
	}
	trust := cmd.trust.trust(cmd.trustedRoot.path, cmd.rekor.url)
	v, err := verifier.New(c.Context, verifier.Options{
		RemoteOptions: reg.RemoteOptions(c.Context), Logger: e.logger(), Policy: policy, Trust: cmd.tuf.withTUF(trust),
		AllowUnboundAnnotations: cmd.policy.allowUnbound,
	})
	if err != nil && !errors.Is(err, verifier.ErrPolicy) && !errors.Is(err, verifier.ErrNoPolicy) {
		err = fmt.Errorf("verifying %s: %w", digest, err) // as verifier.Verify says it
	}
	if err != nil {
		return inStage(release.StageVerify, reg.ExplainRefusal(err, host, "request"))
	}
	res, err := v.Verify(c.Context, digest)
	if errors.Is(err, verifier.ErrNoSignatures) {
		err = missingImage(c, reg, digest, err)
	}
	if err != nil {
		return inStage(release.StageVerify, reg.ExplainRefusal(err, host, "request"))
	}
	if cmd.provenance.provenance {
		if err := verifyProvenance(c, e, reg, v, digest); err != nil {
			return inStage(release.StageVerify, err)
		}
	}
	out, err := res.JSON()
	if err != nil {
		return inStage(release.StageVerify, err)
	}
	fmt.Fprintf(e.stderr, "hallmark: %s\n", verifySummary(res, policy))
	printCosignEquivalent(e, equivalentCosign(res, policy, trust, reg.IsInsecure(digest.RegistryStr())))
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}

// resolveDigest returns ref's digest, resolving a tag once with a warning.
func resolveDigest(c *cli.Context, e *env, reg *registry.Registry, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(ref, reg.RemoteOptions(c.Context)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	d := ref.Context().Digest(desc.Digest.String())
	warnTagResolved(e, "verifying", ref, d)
	return d, nil
}

// missingImage returns, for a digest without signatures, that the image
// itself is missing when the registry does not have it; err otherwise.
func missingImage(c *cli.Context, reg *registry.Registry, d name.Digest, err error) error {
	_, herr := remote.Head(d, reg.RemoteOptions(c.Context)...)
	var te *transport.Error
	if errors.As(herr, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("no image %s in the registry: nothing to verify", d)
	}
	return err
}

// ciPolicy fills in the CI job's own identity and issuer when no key and
// no identity or issuer was given, and says so. Outside CI the policy
// stays empty and Verify refuses it.
func ciPolicy(e *env, p verifier.Policy) (verifier.Policy, error) {
	if p.Key != "" || p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
		return p, nil
	}
	cp, err := e.ci.Policy()
	if err != nil {
		return p, usageErr("%w; %w", verifier.ErrNoPolicy, err)
	}
	p.Identity, p.Issuer = cp.Identity, cp.Issuer
	fmt.Fprintf(e.stderr, "hallmark: no policy given; expecting this CI job's identity %s, issuer %s\n", cp.Identity, cp.Issuer)
	return p, nil
}

// printCosignEquivalent prints the cosign command that checks what was
// verified, on stderr, as one line.
func printCosignEquivalent(e *env, c cosignEquivalent) {
	switch {
	case c.line == "":
		fmt.Fprintf(e.stderr, "hallmark: %s\n", c.note)
	case c.note != "":
		fmt.Fprintf(e.stderr, "hallmark: the same check with cosign v3 (%s): %s\n", c.note, c.line)
	default:
		fmt.Fprintf(e.stderr, "hallmark: the same check with cosign v3: %s\n", c.line)
	}
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
	return fmt.Sprintf("verified %s: %d of %d signatures match (%s); %s; annotations [%s]%s",
		res.Digest, len(res.Verified), res.Checked(), strings.Join(layouts, ", "), who, strings.Join(ann, " "), bindingSummary(res))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// bindingSummary says which annotations of the first verified signature
// its certificate vouches for, and which it disagrees with.
func bindingSummary(res *verifier.Result) string {
	b := res.Verified[0].Binding
	if b == nil {
		return ""
	}
	out := fmt.Sprintf("; bound to the certificate [%s], only signed [%s]", strings.Join(b.BoundKeys(), " "), strings.Join(b.SignedOnly, " "))
	for _, m := range b.Unbound {
		out += fmt.Sprintf("; UNBOUND %s=%q (certificate's %s %q)", m.Key, m.Value, m.Field, m.Certified)
	}
	return out
}
