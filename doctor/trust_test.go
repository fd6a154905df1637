package doctor_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/internal/sigstoretuf"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// signingConfig is a signing config's JSON naming fulcio, a Rekor v2 at
// rekor and the TSA at tsa.
func signingConfig(t *testing.T, fulcio, rekor, tsa string) []byte {
	t.Helper()
	since := time.Now().AddDate(-1, 0, 0)
	svc := func(u string, v uint32) []root.Service {
		return []root.Service{{URL: u, MajorAPIVersion: v, ValidityPeriodStart: since}}
	}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, svc(fulcio, 1), nil,
		svc(rekor, 2), root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		svc(tsa, 1), root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrust: the trusted root and the signing config are resolved as sign
// and verify resolve them — a file, or the TUF repository named (or
// public-good's) — and the trust check says where each came from, with
// the TUF metadata versions; a repository that cannot be read fails it.
func TestTrust(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // the TUF cache
	ss := signertest.NewSigstore(t)
	trJSON, err := os.ReadFile(ss.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + testutil.ClosedAddr(t)
	mirror, tufRoot := testutil.TUFRepo(t, map[string][]byte{"trusted_root.json": trJSON,
		"signing_config.v0.2.json": signingConfig(t, ss.FulcioURL, closed, ss.TSAURL)})
	fromTUF := "TUF mirror " + mirror + " (root v1, targets v1)"
	_, otherRoot := testutil.TUFRepo(t, nil)
	noCA := trustedRoot(t, nil, nil)
	for _, tc := range []struct {
		name          string
		key           bool
		file          string
		mirror, root  string
		status        doctor.Status
		detail        []string
		trustedRoot   string
		signingConfig string
		err           error
	}{
		{"file", false, ss.TrustedRoot, "", "", doctor.StatusOK, []string{"trusted root from file " + ss.TrustedRoot, "services from the service URL options"},
			"file " + ss.TrustedRoot, "the service URL options", nil},
		{"unreadable file", false, filepath.Join(t.TempDir(), "none.json"), "", "", doctor.StatusFail, []string{"reading the trusted root"}, "", "", os.ErrNotExist},
		{"keyless without a Fulcio CA", false, noCA, "", "", doctor.StatusFail, []string{"lists no Fulcio certificate authority"}, "", "", nil},
		{"TUF repository", false, "", mirror, tufRoot, doctor.StatusOK, []string{"trusted root from " + fromTUF, "services from " + fromTUF}, fromTUF, fromTUF, nil},
		{"TUF repository with a key", true, "", mirror, tufRoot, doctor.StatusOK, []string{"trusted root from " + fromTUF, "services from " + fromTUF}, fromTUF, fromTUF, nil},
		{"TUF repository with another root.json", false, "", mirror, otherRoot, doctor.StatusFail, []string{"selecting the Sigstore services", mirror}, "", "", nil},
		{"TUF mirror without its root.json", false, "", mirror, "", doctor.StatusFail, []string{"selecting the Sigstore services"}, "", "", sigstoretuf.ErrMirrorRoot},
		{"key, no TUF repository named", true, "", "", "", doctor.StatusOK, []string{"no trusted root used"}, "", "the service URL options", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := keyless(t, "https://gitlab.example.com")
			if tc.key {
				o.Signer.Key = "unused.key"
			}
			o.Signer.FulcioURL = ""
			if tc.mirror == "" {
				o.Signer.FulcioURL = ss.FulcioURL
			}
			o.Signer.TrustedRoot, o.Verify.TrustedRoot = tc.file, tc.file
			o.Signer.TUFMirror, o.Signer.TUFRoot, o.Verify.TUFMirror, o.Verify.TUFRoot = tc.mirror, tc.root, tc.mirror, tc.root
			o.Signer.Bundle = true                    // Rekor v2 takes bundles
			o.Signer.SkipTlogUpload = tc.mirror == "" // a TUF signing config names a Rekor v2
			r := doctor.Sigstore(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckTrust)
			wantCheck(t, c, tc.status, tc.detail)
			if tc.trustedRoot != "" && c.Facts["trustedRoot"] != tc.trustedRoot {
				t.Errorf("trustedRoot fact %q, want %q", c.Facts["trustedRoot"], tc.trustedRoot)
			}
			if tc.signingConfig != "" && c.Facts["signingConfig"] != tc.signingConfig {
				t.Errorf("signingConfig fact %q, want %q", c.Facts["signingConfig"], tc.signingConfig)
			}
			if tc.err != nil && !errors.Is(c.Err, tc.err) {
				t.Errorf("error %v, want %v", c.Err, tc.err)
			}
			if tc.status == doctor.StatusFail && c.Err == nil && tc.name != "keyless without a Fulcio CA" {
				t.Error("a failed trust check has no error to classify")
			}
		})
	}
}

// TestTrustFromTUFChecks: with the trusted root from a TUF repository, the
// other checks use it as they use a file: the TSA's timestamps verify
// against it.
func TestTrustFromTUFChecks(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	ss, other := signertest.NewSigstore(t), signertest.NewSigstore(t)
	for _, tc := range []struct {
		name   string
		root   string
		status doctor.Status
		detail string
	}{
		{"the TSA's root", ss.TrustedRoot, doctor.StatusOK, "verify against the trusted root"},
		{"another root", other.TrustedRoot, doctor.StatusFail, "do not verify against the trusted root from TUF mirror"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.root)
			if err != nil {
				t.Fatal(err)
			}
			mirror, tufRoot := testutil.TUFRepo(t, map[string][]byte{"trusted_root.json": b})
			o := keyless(t, "https://gitlab.example.com")
			o.Signer.TimestampServerURL = ss.TSAURL
			o.Signer.TUFMirror, o.Signer.TUFRoot, o.Verify.TUFMirror, o.Verify.TUFRoot = mirror, tufRoot, mirror, tufRoot
			r := doctor.Sigstore(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckTSA), tc.status, []string{tc.detail})
		})
	}
}
