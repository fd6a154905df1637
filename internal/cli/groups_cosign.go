package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// cosignCategory is the --help heading of the flags hallmark accepts so
// that cosign users' lines run unchanged.
const cosignCategory = "cosign compatibility"

// cosignCommon is the cosign flags sign and verify share: registry access
// and where the output goes.
type cosignCommon struct {
	yes, allowHTTP, allowInsecure bool
	outputFile                    string
	experimentalOCI11             bool
}

func (g *cosignCommon) flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Category: cosignCategory, Usage: "cosign's skip-confirmation; hallmark never prompts (no-op)", Destination: &g.yes},
		&cli.BoolFlag{Name: "allow-http-registry", Category: cosignCategory, Usage: "allow plain HTTP to the registries of the images given (as --insecure-registry HOST for each)", Destination: &g.allowHTTP},
		&cli.BoolFlag{Name: "allow-insecure-registry", Category: cosignCategory, Usage: "cosign's meaning: plain HTTP allowed and TLS certificates not verified for the registries of the images given (as --insecure-registry and --registry-skip-tls-verify HOST for each); only for test registries", Destination: &g.allowInsecure},
		&cli.StringFlag{Name: "output-file", Category: cosignCategory, Usage: "write what stdout would carry to `FILE` instead", Destination: &g.outputFile},
		&cli.BoolFlag{Name: "experimental-oci11", Category: cosignCategory, Usage: "cosign's OCI 1.1 referrers: hallmark always reads them; sign with --new-bundle-format=false stores the simple signature as a referrer (--registry-referrers-mode oci-1-1)", Destination: &g.experimentalOCI11},
	}
}

// insecureHosts adds the registries of the image arguments to r's
// permissions: plain HTTP for --allow-http-registry and
// --allow-insecure-registry, and, for --allow-insecure-registry as in
// cosign, no TLS certificate verification. A malformed argument is left for
// the command to report.
func (g *cosignCommon) insecureHosts(e *env, args []string, r *registryGroup) {
	if !g.allowHTTP && !g.allowInsecure {
		return
	}
	for _, a := range args {
		ref, err := name.ParseReference(a)
		if err != nil {
			continue
		}
		h := ref.Context().RegistryStr()
		if !slices.Contains(r.insecure, h) {
			r.insecure = append(r.insecure, h)
			e.logger().Debug("cosign compatibility: plain HTTP allowed", "registry", h)
		}
		if g.allowInsecure && !slices.Contains(r.skipTLSVerify, h) {
			r.skipTLSVerify = append(r.skipTLSVerify, h)
			e.logger().Debug("cosign compatibility: TLS certificate not verified", "registry", h)
		}
	}
}

// noOps logs, at debug level, the flags hallmark accepts and already
// honours by default.
func (g *cosignCommon) noOps(e *env, verb string) {
	if g.yes {
		e.logger().Debug("cosign compatibility: --yes is a no-op: hallmark never prompts")
	}
	if g.experimentalOCI11 && verb == "verify" {
		e.logger().Debug("cosign compatibility: --experimental-oci11 is a no-op: verify always reads OCI 1.1 referrers (referrers API and fallback index)")
	}
}

// stdout returns where the command's result goes and a function that,
// with --output-file, writes it to the file once the command is done (the
// file is written whole, or not at all when nothing was printed).
func (g *cosignCommon) stdout(e *env) (io.Writer, func(error) error) {
	if g.outputFile == "" {
		return e.stdout, func(err error) error { return err }
	}
	var buf bytes.Buffer
	return &buf, func(err error) error {
		if buf.Len() == 0 {
			return err
		}
		if werr := writeOutputFile(g.outputFile, buf.Bytes()); werr != nil && err == nil {
			return werr
		}
		return err
	}
}

// cosignSignGroup is cosign sign's flags hallmark sign accepts.
type cosignSignGroup struct {
	cosignCommon
	recursive bool
}

func (*cosignSignGroup) title() string { return "cosign compatibility (sign)" }

func (g *cosignSignGroup) flags() []cli.Flag {
	return append(g.cosignCommon.flags(),
		&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Category: cosignCategory, Usage: "for an index, also sign each platform manifest (attestation manifests excepted), as release --recursive", Destination: &g.recursive})
}

// applySigner turns --experimental-oci11 into the simple-signing layout
// it means in cosign: an OCI 1.1 referrer (bundles are referrers anyway).
// It must be applied after storageGroup.
func (g *cosignSignGroup) applySigner(_ context.Context, o *signer.Options) error {
	if !g.experimentalOCI11 {
		return nil
	}
	switch o.Mode {
	case "":
		// Bundles only: they are OCI 1.1 referrers already.
	case signer.ModeLegacy:
		o.Mode = signer.ModeOCI11
	}
	return nil
}

// cosignVerifyGroup is cosign verify's flags hallmark verify accepts.
type cosignVerifyGroup struct {
	cosignCommon
	workflow            verifier.GitHubWorkflow
	offline, signedTime bool
	output              string
}

func (*cosignVerifyGroup) title() string { return "cosign compatibility (verify)" }

func (g *cosignVerifyGroup) flags() []cli.Flag {
	wf := func(suffix, what string, dst *string) cli.Flag {
		return &cli.StringFlag{Name: "certificate-github-workflow-" + suffix, Category: cosignCategory,
			Usage: "require `" + what + "` in the keyless certificate's GitHub workflow " + suffix + " extension", Destination: dst}
	}
	return append(g.cosignCommon.flags(),
		wf("trigger", "EVENT", &g.workflow.Trigger),
		wf("sha", "SHA", &g.workflow.SHA),
		wf("name", "NAME", &g.workflow.Name),
		wf("repository", "OWNER/REPO", &g.workflow.Repository),
		wf("ref", "REF", &g.workflow.Ref),
		&cli.BoolFlag{Name: "offline", Category: cosignCategory, Usage: "verify from the signatures' bundles only, with no Rekor look-up (the default without --rekor-url)", Destination: &g.offline},
		&cli.BoolFlag{Name: "use-signed-timestamps", Category: cosignCategory, Usage: "verify RFC 3161 timestamps: hallmark always does when a signature has one (no-op)", Destination: &g.signedTime},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: cosignCategory, Value: "json", Usage: "output `FORMAT`: json only (cosign's default)", Destination: &g.output},
	)
}

// apply checks the verify-only flags and sets the policy's GitHub
// workflow constraints; rekorURL is --rekor-url, which --offline
// contradicts.
func (g *cosignVerifyGroup) apply(e *env, p *verifier.Policy, rekorURL string) error {
	if g.output != "json" {
		return usageErr("--output %s: hallmark verify prints JSON only (cosign's default format); drop --output", g.output)
	}
	if g.offline && rekorURL != "" {
		return usageErr("--offline and --rekor-url %s contradict each other: --offline verifies from bundles only", rekorURL)
	}
	if g.offline {
		e.logger().Debug("cosign compatibility: --offline: no Rekor look-ups (the default without --rekor-url)")
	}
	if g.signedTime {
		e.logger().Debug("cosign compatibility: --use-signed-timestamps is a no-op: RFC 3161 timestamps are always verified when present")
	}
	g.noOps(e, "verify")
	p.GitHubWorkflow = g.workflow
	return nil
}

// flagName returns the flag of a "flag provided but not defined: -name"
// message with the dashes it was typed with, for long names two.
func flagName(n string) string {
	if len(n) > 1 {
		return fmt.Sprintf("--%s", n)
	}
	return "-" + n
}
