package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/release"
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
	doctor      doctorGroup
	image       imageGroup
	connect     connectGroup
	key         keyGroup
	keyless     keylessGroup
	tsa         tsaGroup
	servicesTLS servicesTLSGroup
	registry    registryGroup
}

func doctorCommand(e *env) command {
	var cmd doctorCmd
	return command{
		Command: &cli.Command{
			Name:  "doctor",
			Usage: "check that a release would work here: buildkitd, the registry, the signing key or OIDC token, Fulcio and the TSA",
			Description: "Checks, concurrently and each with a short timeout: buildkitd (reachable, version, address), the image's\n" +
				"registry (reachable, push access and where the credentials come from, the OCI 1.1 referrers API), the key or\n" +
				"OIDC token a release would sign with (audience, expiry, the identity it will produce), Fulcio (keyless) and the\n" +
				"timestamp authority. Prints a table on stderr (--output json: the report as JSON on stdout too). Never prints a\n" +
				"secret. Exit codes: 0 all checks pass (warnings allowed), 3 a build or push would fail, 4 signing would fail, 2 usage.",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usageErr("doctor takes no arguments, got %q", c.Args().First())
				}
				return cmd.run(c, e)
			},
		},
		groups: []flagGroup{&cmd.doctor, &cmd.image, &cmd.connect, &cmd.key, &cmd.keyless, &cmd.tsa, &cmd.servicesTLS, &cmd.registry},
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
	reg := cmd.registry.registry(e)
	image := cmd.image.repository(e.ci)
	if image != "" {
		if _, err := reg.ParseRepository(image); err != nil {
			return doctor.Options{}, usageErr("--image: %w", err)
		}
	}
	hc, err := serviceHTTPClient(cmd.servicesTLS.caCert, cmd.doctor.timeout)
	if err != nil {
		return doctor.Options{}, usageErr("--sigstore-ca-cert: %w", err)
	}
	so, tokenErr := signerOptions(c.Context, e, reg, &cmd.key, &cmd.keyless, &cmd.tsa, &cmd.servicesTLS)
	o := doctor.Options{
		Buildkit: cmd.connect.options(),
		Registry: reg, Image: image,
		Signer: so, TokenErr: tokenErr,
		HTTPClient: hc, Timeout: cmd.doctor.timeout,
	}
	if e.ci.Provider != ci.Generic {
		o.TokenHint = e.ci.OIDC().Hint
	}
	return o, nil
}

// serviceHTTPClient is the client for Fulcio and the TSA: the system
// roots plus caFile's certificates.
func serviceHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := limits.ReadFile(caFile, 0)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificates in %s", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// doctorErr is nil when no check failed; else it names the failed checks,
// with the exit code of the earliest release stage that would fail.
func doctorErr(r doctor.Report) error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	parts := make([]string, len(failed))
	for i, f := range failed {
		parts[i] = f.Name + ": " + f.Detail
	}
	s := release.StageSign
	if failed[0].Stage == doctor.StageBuild {
		s = release.StageBuild
	}
	return inStage(s, fmt.Errorf("a release would fail: %s", strings.Join(parts, "; ")))
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
