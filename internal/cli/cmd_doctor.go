package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
)

// doctorGroup is doctor's own flags.
type doctorGroup struct {
	output  string
	timeout time.Duration
}

func (*doctorGroup) title() string { return "doctor" }

func (g *doctorGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "output", Value: "table", Usage: "`FORMAT`: table (on stderr only) or json (the table on stderr, the report as JSON on stdout)", EnvVars: []string{"HALLMARK_DOCTOR_OUTPUT"}, Destination: &g.output},
		&cli.DurationFlag{Name: "timeout", Value: doctor.DefaultTimeout, Usage: "bound each check by `DURATION`", EnvVars: []string{"HALLMARK_DOCTOR_TIMEOUT"}, Destination: &g.timeout},
	}
}

// doctorCmd is hallmark doctor's flags: those of release that say where
// it builds, pushes and how it signs.
type doctorCmd struct {
	doctor   doctorGroup
	image    imageGroup
	connect  connectGroup
	signing  signing
	trust    trustGroup
	registry registryGroup
}

func doctorCommand(e *env) command {
	var cmd doctorCmd
	return command{
		Command: &cli.Command{
			Name:  "doctor",
			Usage: "check that a release would work here: buildkitd, the registry, the signing key or OIDC token, and the Sigstore services",
			Description: "Checks, concurrently and each with a short timeout: buildkitd (reachable, version, address), the image's\n" +
				"registry (reachable, push access and where the credentials come from, the OCI 1.1 referrers API), the key or\n" +
				"OIDC token a release would sign with (audience, expiry, the identity it will produce), and the Sigstore services\n" +
				"end to end: where the trusted root and the signing config come from (files, or the TUF repository of\n" +
				"--tuf-mirror with its metadata versions, resolved as sign and verify resolve them), the OIDC issuer's discovery\n" +
				"document (exact URL), Fulcio's configuration (lists the issuer), the CT log key in the trusted root, Rekor (answers,\n" +
				"its key in the trusted root; a Rekor v2's checkpoint signed by that key), the TSA (issues an RFC 3161 timestamp that\n" +
				"verifies against the trusted root; required with Rekor v2), and whether the --insecure-* flags agree with\n" +
				"--tlog-upload. release runs the Sigstore checks before it builds. Prints a table on stderr, the same in a\n" +
				"terminal and in CI logs (--output json: the report as JSON on stdout too). Never prints a secret.\n" +
				"Exit codes: 0 all checks pass (warnings allowed), 2 usage (a bad flag, token, key or password, as in release),\n" +
				"3 a build or push would fail, 4 signing would fail.",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usageErr("doctor takes no arguments, got %q", c.Args().First())
				}
				return cmd.run(c, e)
			},
		},
		groups: append(append([]flagGroup{&cmd.doctor, &cmd.image, &cmd.connect}, cmd.signing.flagGroups()...), &cmd.trust, &cmd.registry),
	}
}

func (cmd *doctorCmd) run(c *cli.Context, e *env) error {
	if o := cmd.doctor.output; o != "table" && o != "json" {
		return usageErr("--output: want table or json, got %q", o)
	}
	opts, err := cmd.options(c, e)
	if err != nil {
		return err
	}
	report := doctor.Run(c.Context, opts)
	for i, check := range report.Checks {
		report.Checks[i].Detail, report.Checks[i].Hint = renderOptions(check.Detail), renderOptions(check.Hint)
	}
	writeDoctorTable(e.stderr, report)
	if cmd.doctor.output == "json" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
		if _, err := fmt.Fprintf(e.stdout, "%s\n", b); err != nil {
			return err
		}
	}
	return doctorErr(report)
}

// options translates the flags and the CI environment into the checks'
// options, with the signer options a release would use. A token that
// cannot be obtained is a failed check, not a usage error.
func (cmd *doctorCmd) options(c *cli.Context, e *env) (doctor.Options, error) {
	if err := cmd.connect.single("doctor"); err != nil {
		return doctor.Options{}, err
	}
	if w := cmd.connect.unusedBalance("doctor"); w != "" {
		e.logger().Warn(w)
	}
	reg := cmd.registry.registry(e)
	image := cmd.image.repository(e.ci)
	if image != "" {
		if _, err := reg.ParseRepository(image); err != nil {
			return doctor.Options{}, usageErr("--image: %w", err)
		}
	}
	so, tokenErr := signerOptions(c.Context, e, reg, cmd.signing.groups()...)
	so.HTTPTimeout = cmd.doctor.timeout
	hc, err := signer.ServiceClient(so)
	if err != nil {
		return doctor.Options{}, usageErr("--sigstore-ca-cert: %w", err)
	}
	o := doctor.Options{
		Buildkit: cmd.connect.options(),
		Registry: reg, Image: image,
		Signer: so, TokenErr: tokenErr,
		Verify:     cmd.signing.tuf.withTUF(cmd.trust.trust(cmd.signing.trustedRoot.path, cmd.signing.tlog.verifyRekorURL())),
		HTTPClient: hc, Timeout: cmd.doctor.timeout,
	}
	if e.ci.Provider != ci.Generic {
		o.TokenHint = e.ci.OIDC().Hint
	}
	return o, nil
}

// doctorErr is nil when no check failed; else it names the failed checks,
// with the exit code release would exit with: a usage error first (a
// refused token, key or password, classified as in release, which checks
// them before building), then the earliest stage that would fail.
func doctorErr(r doctor.Report) error {
	err := r.Err()
	if err == nil {
		return nil
	}
	failed := r.Failed()
	s := release.StageSign
	if failed[0].Stage == doctor.StageBuild {
		s = release.StageBuild
	}
	for _, f := range failed {
		if f.Err != nil && exitCode(inStage(release.StageSign, f.Err)) == exitUsage {
			s = release.StageUsage
		}
	}
	return inStage(s, fmt.Errorf("a release would fail: %w", err))
}

// writeDoctorTable writes the report as aligned columns (check, status,
// detail), with each failure's or warning's hint indented below it.
func writeDoctorTable(w io.Writer, r doctor.Report) {
	nameW, statusW := len("CHECK"), len("STATUS")
	for _, c := range r.Checks {
		nameW, statusW = max(nameW, len(c.Name)), max(statusW, len(c.Status))
	}
	row := func(name, status, detail string) {
		fmt.Fprintf(w, "%-*s  %-*s  %s\n", nameW, name, statusW, status, detail)
	}
	row("CHECK", "STATUS", "DETAIL")
	indent := strings.Repeat(" ", nameW+2+statusW+2)
	for _, c := range r.Checks {
		row(c.Name, string(c.Status), c.Detail)
		if c.Hint != "" && (c.Status == doctor.StatusFail || c.Status == doctor.StatusWarn) {
			fmt.Fprintf(w, "%shint: %s\n", indent, c.Hint)
		}
	}
}
