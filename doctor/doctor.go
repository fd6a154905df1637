package doctor

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/redirect"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// Status is the outcome of one check.
type Status string

// The statuses; only StatusFail makes a release fail.
const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn" // works, but worth knowing
	StatusFail Status = "fail" // a release would fail
	StatusSkip Status = "skip" // not applicable here, or an earlier check failed
)

// Stage names the release stage a check is about.
type Stage string

// The release stages checks belong to.
const (
	StageBuild Stage = "build" // build and push: buildkitd, the registry
	StageSign  Stage = "sign"  // signing: key or token, Fulcio, the TSA
)

// The check names, in report order.
const (
	CheckBuildkitd = "buildkitd"
	CheckRegistry  = "registry"
	CheckPush      = "push"
	CheckReferrers = "referrers"
	CheckSigning   = "signing"
	CheckFulcio    = "fulcio"
	CheckTSA       = "tsa"
)

// Check is the result of one check.
type Check struct {
	// Name is one of the Check* constants.
	Name string `json:"name"`
	// Stage is the release stage the check is about.
	Stage Stage `json:"stage"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Detail says what was found, in one line.
	Detail string `json:"detail"`
	// Hint says how to fix a failure or a warning; "" otherwise.
	Hint string `json:"hint,omitempty"`
	// Err is the error behind a failure, when there is one (a token or
	// key the signer refused), so callers classify it as release does.
	Err error `json:"-"`
	// Facts are the findings as key-value pairs for scripts, e.g.
	// "version", "address", "credentials", "supported", "identity".
	Facts map[string]string `json:"facts,omitempty"`
}

// Report is the result of Run: one Check per concern, in a fixed order.
type Report struct {
	Checks []Check
}

// OK reports whether no check failed, i.e. whether a release would pass
// as far as these checks can tell.
func (r Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return false
		}
	}
	return true
}

// Failed returns the failed checks.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c)
		}
	}
	return out
}

// Err is nil when no check failed, else a *FailedError naming the failed
// checks.
func (r Report) Err() error {
	if failed := r.Failed(); len(failed) > 0 {
		return &FailedError{Checks: failed}
	}
	return nil
}

// FailedError is a report's failed checks. It unwraps to the errors behind
// them, so errors.Is and errors.As see a refused token or key.
type FailedError struct {
	Checks []Check
}

func (e *FailedError) Error() string {
	parts := make([]string, len(e.Checks))
	for i, c := range e.Checks {
		parts[i] = c.Name + ": " + c.Detail
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the errors behind the failed checks.
func (e *FailedError) Unwrap() []error {
	var errs []error
	for _, c := range e.Checks {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errs
}

// Check returns the check named name, if the report has it.
func (r Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// MarshalJSON writes {"ok": ..., "checks": [...]}.
func (r Report) MarshalJSON() ([]byte, error) {
	checks := r.Checks
	if checks == nil {
		checks = []Check{}
	}
	return json.Marshal(struct {
		OK     bool    `json:"ok"`
		Checks []Check `json:"checks"`
	}{r.OK(), checks})
}

// Options say what to check. The zero value checks buildkitd at the
// default sockets and finds no signing material.
type Options struct {
	// Buildkit says how to reach buildkitd.
	Buildkit builder.ConnectOptions

	// Registry is the registry access a release would use (credentials,
	// insecure hosts, transport); nil is registry.New(registry.Config{}).
	Registry *registry.Registry
	// Image is the repository (REGISTRY/REPOSITORY) a release would push
	// to; "" skips the registry checks.
	Image string

	// Signer are the options a release would sign with: its Key (and
	// Password), or its IdentityToken (TokenAudience, FulcioURL), and its
	// TimestampServerURL ("" skips the TSA check). A key means the
	// signature is not keyless.
	Signer signer.Options
	// TokenErr is why the token could not be obtained (an unreadable
	// token file, a failed GitHub Actions token request); the signing
	// check fails with it.
	TokenErr error
	// TokenHint says how to provide a token in this environment; "" gives
	// a hint covering GitLab, GitHub Actions and a key.
	TokenHint string

	// Verify is the trust a release verifies with: its trusted root, and
	// the checks it skips (IgnoreTlog, IgnoreSCT).
	Verify verifier.Trust
	// Services are the Sigstore URLs to check; nil takes them from Signer
	// (ServicesOf).
	Services *Services

	// HTTPClient is used for the OIDC issuer, Fulcio, the CT log, Rekor
	// and the TSA; nil is the signer's (signer.ServiceClient: its
	// ServiceCACert) with Timeout.
	HTTPClient *http.Client

	// Timeout bounds each check; 0 is 10s.
	Timeout time.Duration
}

// DefaultTimeout bounds each check when Options.Timeout is 0.
const DefaultTimeout = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Registry == nil {
		o.Registry = registry.New(registry.Config{})
	}
	if o.HTTPClient == nil {
		so := o.Signer
		so.HTTPTimeout = o.Timeout
		if c, err := signer.ServiceClient(so); err == nil {
			o.HTTPClient = c
		} else {
			// A bad ServiceCACert: the signing checks say so; the
			// services are checked with the system roots.
			o.HTTPClient = &http.Client{Timeout: o.Timeout, CheckRedirect: redirect.Check}
		}
	}
	return o
}

// Run runs every check, the independent ones concurrently, and returns
// the report. It never fails: problems are failed checks.
func Run(ctx context.Context, opts Options) Report {
	o := opts.withDefaults()
	groups := []func(context.Context, Options) []Check{
		func(ctx context.Context, o Options) []Check { return []Check{checkBuildkitd(ctx, o)} },
		checkRegistry, // registry, push, referrers: each needs the one before
		func(ctx context.Context, o Options) []Check { return []Check{checkSigning(ctx, o)} },
		func(ctx context.Context, o Options) []Check { return Sigstore(ctx, o).Checks },
	}
	results := make([][]Check, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { results[i] = g(ctx, o) })
	}
	wg.Wait()
	var r Report
	for _, cs := range results {
		r.Checks = append(r.Checks, cs...)
	}
	return r
}

// newCheck starts a check result.
func newCheck(name string, stage Stage) Check {
	return Check{Name: name, Stage: stage, Facts: map[string]string{}}
}

func (c Check) with(status Status, detail, hint string) Check {
	c.Status, c.Detail, c.Hint = status, detail, hint
	if len(c.Facts) == 0 {
		c.Facts = nil
	}
	return c
}

func (c Check) ok(detail string) Check         { return c.with(StatusOK, detail, "") }
func (c Check) warn(detail, hint string) Check { return c.with(StatusWarn, detail, hint) }
func (c Check) fail(detail, hint string) Check { return c.with(StatusFail, detail, hint) }
func (c Check) skip(detail string) Check       { return c.with(StatusSkip, detail, "") }
