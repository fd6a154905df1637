package doctor_test

import (
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// trustedRoot writes a trusted root with the given Rekor and CT logs.
func trustedRoot(t *testing.T, rekor, ct []*root.TransparencyLog) string {
	t.Helper()
	m := func(logs []*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for i, l := range logs {
			out[string(rune('a'+i))] = l
		}
		return out
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, m(ct), nil, m(rekor))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRekorV1: Rekor v1 serves its key; it must be the trusted root's. (The
// bed runs Rekor v2 only: Rekor v1 is a stand-in serving a key; Rekor v2 is
// checked against the bed in e2e/doctor_sigstore_test.go.)
func TestRekorV1(t *testing.T) {
	k := testutil.NewLogKey(t, "")
	known, unknown := k.Log, testutil.NewLogKey(t, "").Log
	rekor := standIn(t, http.StatusNotFound, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.DER})), "/api/v1/log/publicKey")
	v2 := standIn(t, http.StatusNotFound, "", "/healthz")
	for _, tc := range []struct {
		name, url, root string
		version         uint32
		status          doctor.Status
		detail          string
	}{
		{"no trusted root", rekor, "", 1, doctor.StatusOK, "its key not checked: no trusted root used"},
		{"key in the trusted root", rekor, trustedRoot(t, []*root.TransparencyLog{known}, nil), 1, doctor.StatusOK, "its key is in the trusted root"},
		{"key not in the trusted root", rekor, trustedRoot(t, []*root.TransparencyLog{unknown}, nil), 1, doctor.StatusFail, "is not in the trusted root"},
		{"a Rekor v2 named as v1", v2, "", 1, doctor.StatusFail, "no Rekor v1 API at this URL"},
		{"a Rekor v1 named as v2", rekor, "", 2, doctor.StatusFail, "no Rekor v2 API at this URL"},
		{"unreachable", "http://127.0.0.1:1", "", 1, doctor.StatusFail, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.Key = "unused.key"
			o.Signer.SkipTlogUpload, o.Signer.RekorURL, o.Signer.RekorVersion = false, tc.url, tc.version
			o.Signer.TimestampServerURL = "http://127.0.0.1:1/tsa"
			o.Verify.IgnoreTlog, o.Verify.TrustedRoot = false, tc.root
			// With a key and no TUF repository named, no trusted root is used.
			o.Signer.TUFMirror, o.Signer.TUFRoot, o.Verify.TUFMirror, o.Verify.TUFRoot = "", "", "", ""
			r := doctor.Sigstore(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckRekor), tc.status, []string{tc.detail})
		})
	}
}

// TestCTLog: keyless with SCTs checked, the trusted root must hold a CT
// log key; skipped on both sides, nothing is required.
func TestCTLog(t *testing.T) {
	ct := testutil.NewLogKey(t, "http://127.0.0.1:1").Log
	withCT := trustedRoot(t, nil, []*root.TransparencyLog{ct})
	withoutCT := trustedRoot(t, nil, nil)
	for _, tc := range []struct {
		name                string
		root                string
		skipSign, skipCheck bool
		status              doctor.Status
		detail              string
	}{
		{"no CT log in the trusted root", withoutCT, false, false, doctor.StatusFail, "lists no CT log key"},
		{"CT log key, log unreachable", withCT, false, false, doctor.StatusWarn, "does not answer"},
		{"trusted root unavailable", "", false, false, doctor.StatusSkip, "not checked: the trusted root is unavailable"},
		{"SCT skipped on both sides", withoutCT, true, true, doctor.StatusSkip, "checked neither"},
		{"SCT skipped when signing only", withoutCT, true, false, doctor.StatusFail, "lists no CT log key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := keyless(t, "https://gitlab.example.com")
			o.Verify.TrustedRoot, o.Signer.InsecureSkipSCT, o.Verify.IgnoreSCT = tc.root, tc.skipSign, tc.skipCheck
			r := doctor.Sigstore(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckCTLog), tc.status, []string{tc.detail})
		})
	}
}

// TestInsecureFlags: signing and verification must agree on the log and
// the SCT.
func TestInsecureFlags(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		upload, ignoreTlog      bool
		skipSCT, ignoreSCT, key bool
		status                  doctor.Status
		detail, hint            string
	}{
		{"default path", true, false, false, false, false, doctor.StatusOK, "uploaded to the transparency log and checked", ""},
		{"air-gapped", false, true, true, true, false, doctor.StatusOK, "air-gapped", ""},
		{"upload, then ignored", true, true, false, false, false, doctor.StatusFail, "verification ignores it", "{verifier.Trust.IgnoreTlog}"},
		{"no upload, then required", false, false, false, false, false, doctor.StatusFail, "verification requires a log entry", "{signer.Options.SkipTlogUpload}"},
		{"SCT skipped at signing only", false, true, true, false, false, doctor.StatusWarn, "verification requires one", "{verifier.Trust.IgnoreSCT}"},
		{"SCT flags with a key", false, true, true, false, true, doctor.StatusOK, "air-gapped", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := offline(t)
			if tc.key {
				o.Signer.Key = "unused.key"
			}
			o.Signer.SkipTlogUpload, o.Signer.RekorURL = !tc.upload, "http://127.0.0.1:1"
			o.Verify.IgnoreTlog, o.Signer.InsecureSkipSCT, o.Verify.IgnoreSCT = tc.ignoreTlog, tc.skipSCT, tc.ignoreSCT
			r := doctor.Sigstore(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckInsecure)
			wantCheck(t, c, tc.status, []string{tc.detail}, tc.hint)
			if tc.status == doctor.StatusFail && c.Err == nil {
				t.Error("a flag combination that fails has no error to classify")
			}
		})
	}
}
