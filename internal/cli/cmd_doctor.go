package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/doctor"
)

// doctorConfig is the doctor command's own flags; the sign flags bind to
// a signConfig.
type doctorConfig struct {
	image, output string
	timeout       time.Duration
	sign          signConfig
}

// doctorSignFlags are the sign flags that say how a release would sign.
var doctorSignFlags = []string{
	"key", "key-password", "identity-token", "identity-token-file", "sigstore-id-token",
	"actions-id-token-request-url", "actions-id-token-request-token",
	"fulcio-url", "timestamp-server-url", "sigstore-ca-cert",
}

func doctorCommand() *cli.Command {
	var cfg doctorConfig
	own := []cli.Flag{
		&cli.StringFlag{Name: "image", Usage: "image `REPOSITORY` a release would push to (default: $CI_REGISTRY_IMAGE on GitLab, ghcr.io/$GITHUB_REPOSITORY on GitHub Actions)", EnvVars: []string{"HALLMARK_IMAGE"}, Destination: &cfg.image},
		&cli.StringFlag{Name: "output", Value: "table", Usage: "`FORMAT`: table (on stderr only) or json (the table on stderr, the report as JSON on stdout)", EnvVars: []string{"HALLMARK_DOCTOR_OUTPUT"}, Destination: &cfg.output},
		&cli.DurationFlag{Name: "timeout", Value: doctor.DefaultTimeout, Usage: "bound each check by `DURATION`", EnvVars: []string{"HALLMARK_DOCTOR_TIMEOUT"}, Destination: &cfg.timeout},
	}
	signF := slices.DeleteFunc(signFlags(&cfg.sign), func(f cli.Flag) bool { return !slices.Contains(doctorSignFlags, f.Names()[0]) })
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that a release would work here: buildkitd, the registry, the signing key or OIDC token, Fulcio and the TSA",
		Description: "Checks, concurrently and each with a short timeout: buildkitd (reachable, version, address), the image's\n" +
			"registry (reachable, push access and where the credentials come from, the OCI 1.1 referrers API), the key or\n" +
			"OIDC token a release would sign with (audience, expiry, the identity it will produce), Fulcio (keyless) and the\n" +
			"timestamp authority. Prints a table on stderr (--output json: the report as JSON on stdout too). Never prints a\n" +
			"secret. Exit codes: 0 all checks pass (warnings allowed), 3 a build or push would fail, 4 signing would fail, 2 usage.",
		Flags: slices.Concat(own, buildkitFlags(), signF, registryFlags()),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("doctor takes no arguments, got %q", c.Args().First())
			}
			return runDoctor(c, &cfg)
		},
	}
}

func runDoctor(c *cli.Context, cfg *doctorConfig) error {
	if cfg.output != "table" && cfg.output != "json" {
		return usageErr("--output: want table or json, got %q", cfg.output)
	}
	opts, err := doctorOptions(c, cfg)
	if err != nil {
		return err
	}
	report := doctor.Run(c.Context, opts)
	writeDoctorTable(c.App.ErrWriter, report)
	if cfg.output == "json" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
		if _, err := fmt.Fprintf(c.App.Writer, "%s\n", b); err != nil {
			return err
		}
	}
	return doctorErr(report)
}

// doctorOptions translates the flags and the CI environment into the
// checks' options. A token that cannot be obtained is a failed check, not
// a usage error.
func doctorOptions(c *cli.Context, cfg *doctorConfig) (doctor.Options, error) {
	env := ciEnv()
	reg := newRegistry(c)
	image := cfg.image
	if image == "" {
		image = env.DefaultImage()
	}
	if image != "" {
		if _, err := reg.ParseRepository(image); err != nil {
			return doctor.Options{}, usageErr("--image: %w", err)
		}
	}
	hc, err := serviceHTTPClient(cfg.sign.serviceCA, cfg.timeout)
	if err != nil {
		return doctor.Options{}, usageErr("--sigstore-ca-cert: %w", err)
	}
	so, tokenErr := cfg.sign.signerOptions(c.Context)
	o := doctor.Options{
		Buildkit: bindBuildConfig(c, ".").connect,
		Registry: reg, Image: image,
		Key: so.Key, KeyPassword: so.Password,
		IdentityToken: so.IdentityToken, TokenErr: tokenErr,
		FulcioURL: so.FulcioURL, TSAURL: so.TimestampServerURL,
		HTTPClient: hc, Timeout: cfg.timeout,
	}
	if env.Provider != ci.Generic {
		o.TokenHint = env.OIDC().Hint
	}
	return o, nil
}

// serviceHTTPClient is the client for Fulcio and the TSA: the system
// roots plus caFile's certificates.
func serviceHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
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
	code := exitSign
	if failed[0].Stage == doctor.StageBuild {
		code = exitBuild
	}
	return stage(code, fmt.Errorf("a release would fail: %s", strings.Join(parts, "; ")))
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
