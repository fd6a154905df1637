package e2etest

import (
	"os"
	"strings"
)

// The bed's public-good-shaped Sigstore (hack/testbed.sh, `up sign`): Fulcio
// issuing certificates with embedded SCTs from the bed's CT log, Rekor v2,
// the TSA, and the trust and service files of that whole instance, written
// by cosign v3's own `trusted-root create` and `signing-config create`.

// transparencyVars are the variables the bed exports once the CT log and
// Rekor v2 (with its tiles served at its URL) run and the instance's trust
// files are written.
var transparencyVars = []string{
	"HALLMARK_TEST_COSIGN3",
	"HALLMARK_TEST_CTLOG_URL",
	"HALLMARK_TEST_REKOR_URL",
	"HALLMARK_TEST_REKOR_API_URL",
	"HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT",
	"HALLMARK_TEST_SIGNING_CONFIG",
}

// RequireTransparency skips the test when the bed runs without the CT log
// and Rekor v2 (one started by an older hack/testbed.sh) — or fails it
// under CI, where the whole bed must be up.
func (b Bed) RequireTransparency() {
	b.t.Helper()
	var missing []string
	for _, k := range transparencyVars {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "test bed without the CT log and Rekor v2 (" + strings.Join(missing, ", ") +
		" unset): run `eval \"$(hack/testbed.sh up)\"` from this checkout"
	if os.Getenv("CI") != "" {
		b.t.Fatal(msg)
	}
	b.t.Skip(msg)
}

// Cosign3 is the cosign v3.1.3 CLI (HALLMARK_TEST_COSIGN is v2.6.5).
func (b Bed) Cosign3() string { return b.Getenv("HALLMARK_TEST_COSIGN3") }

// CTLogURL is the bed's certificate-transparency log (TesseraCT, static-CT
// API), the one Fulcio submits its precertificates to.
func (b Bed) CTLogURL() string { return b.Getenv("HALLMARK_TEST_CTLOG_URL") }

// RekorURL is the bed's Rekor v2 base URL, http://127.0.0.1:PORT without a
// path (clients add /api/v2/log/entries); its checkpoint origin is the host
// without the port, 127.0.0.1. It serves the log's checkpoint and tiles
// (GET /checkpoint, /tile/...) beside the write API, as Sigstore's
// public-good Rekor v2 logs do.
func (b Bed) RekorURL() string { return b.Getenv("HALLMARK_TEST_REKOR_URL") }

// RekorAPIURL is the same log's rekor-server alone, behind RekorURL: the
// write API, and no checkpoint or tiles (its POSIX build serves no reads).
func (b Bed) RekorAPIURL() string { return b.Getenv("HALLMARK_TEST_REKOR_API_URL") }

// SigstoreTrustedRoot is the trusted_root.json of the whole instance:
// Fulcio, the CT log, Rekor v2 and the TSA. Verifying against it needs no
// insecure flag. (HALLMARK_TEST_TRUSTED_ROOT stays Fulcio + TSA only.)
func (b Bed) SigstoreTrustedRoot() string { return b.Getenv("HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT") }

// SigningConfig is the instance's signing_config.json: Fulcio, Rekor v2
// (api-version 2) and the TSA, as sigstore-go and cosign v3 select services.
func (b Bed) SigningConfig() string { return b.Getenv("HALLMARK_TEST_SIGNING_CONFIG") }

// PublicGood returns cosign v3's flags to sign through the bed's signing
// config, and the trust flags to verify with every check on (SCT, tlog
// inclusion, signed timestamp): the public-good path, no insecure flag.
func (b Bed) PublicGood() (sign, trust []string) {
	sign = []string{"--signing-config", b.SigningConfig(), "--trusted-root", b.SigstoreTrustedRoot()}
	trust = []string{"--trusted-root", b.SigstoreTrustedRoot()}
	return sign, trust
}
