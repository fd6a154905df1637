package doctor

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/signer"
)

// Services are the Sigstore services a release signs with. The checks read
// the URLs from here only, so a source other than the signer's options (a
// signing config selecting Fulcio, Rekor and the TSA) can fill them.
type Services struct {
	// Fulcio is the certificate authority's base URL (keyless only).
	Fulcio string
	// Rekor is the transparency log's base URL; "" when nothing is
	// uploaded.
	Rekor string
	// RekorVersion is Rekor's major API version, 1 or 2.
	RekorVersion uint32
	// TSA is the RFC 3161 timestamp authority's URL, any path; "" for
	// none.
	TSA string
	// Source says where the URLs came from: "signing config FILE", a TUF
	// repository's signing config ("TUF mirror URL (root vN, targets
	// vM)"), or "" for URL options and defaults.
	Source string
}

// ServicesOf returns the services signer options sign with, as the
// signer selects them (its signing config, when it names one), defaults
// applied: the public-good Fulcio and Rekor when nothing names them.
func ServicesOf(ctx context.Context, o signer.Options) (Services, error) {
	r, err := o.ResolvedServices(ctx, time.Now())
	if err != nil {
		return Services{}, err
	}
	s := Services{Fulcio: r.FulcioURL, Rekor: r.RekorURL, RekorVersion: r.RekorVersion, TSA: r.TimestampServerURL, Source: r.Source}
	if s.Fulcio == "" {
		s.Fulcio = signer.DefaultFulcioURL
	}
	if s.Rekor == "" {
		s.Rekor = signer.DefaultRekorURL
	}
	if s.RekorVersion == 0 {
		s.RekorVersion = 1
	}
	if o.SkipTlogUpload {
		s.Rekor = ""
	}
	return s, nil
}

// sigstoreChecks are the checks of the Sigstore services, in report order.
var sigstoreChecks = []func(context.Context, Options, *trust) Check{
	checkTrust, checkOIDC, checkFulcio, checkCTLog, checkRekor, checkTSA, checkInsecure,
}

// Sigstore runs the checks of the Sigstore services only (where the
// trusted root and signing config come from, OIDC issuer, Fulcio, CT log,
// Rekor, TSA, the insecure flags' coherence),
// concurrently: what a release checks before it builds, so that nothing is
// pushed that cannot then be signed and verified.
func Sigstore(ctx context.Context, opts Options) Report {
	o := opts.withDefaults()
	if o.Services == nil {
		svc, err := ServicesOf(ctx, o.Signer)
		if err != nil {
			return servicesUnknown(err)
		}
		o.Services = &svc
	}
	tr := loadTrust(ctx, o)
	out := make([]Check, len(sigstoreChecks))
	var wg sync.WaitGroup
	for i, check := range sigstoreChecks {
		wg.Go(func() { out[i] = check(ctx, o, tr) })
	}
	wg.Wait()
	return Report{Checks: out}
}

// keyless reports whether the release signs without a key.
func (o Options) keyless() bool { return o.Signer.Key == "" }

// services are the URLs the checks probe (Sigstore sets them).
func (o Options) services() Services {
	if o.Services != nil {
		return *o.Services
	}
	return Services{}
}

// servicesUnknown is the report when the services cannot be told (an
// unusable signing config): the first check fails with why, the others are
// not checked.
func servicesUnknown(err error) Report {
	names := []string{CheckTrust, CheckOIDC, CheckFulcio, CheckCTLog, CheckRekor, CheckTSA, CheckInsecure}
	r := Report{Checks: make([]Check, len(names))}
	for i, n := range names {
		r.Checks[i] = newCheck(n, StageSign).skip("not checked: the Sigstore services are unknown")
	}
	c := newCheck(CheckTrust, StageSign).fail("selecting the Sigstore services: "+oneLine(err),
		"check {signer.Options.SigningConfig}, or {signer.Options.TUFMirror} and {signer.Options.TUFRoot} and the network")
	c.Err = err
	r.Checks[0] = c
	return r
}

// sameURL compares service URLs as clients do: scheme and host without
// case, no trailing slash.
func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}
