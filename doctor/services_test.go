package doctor_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// standIn answers body on the given paths and status otherwise; it stands
// in for services the test bed does not run here (a Fulcio without the
// configuration endpoint, a Rekor v1).
func standIn(t *testing.T, status int, body string, paths ...string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if r.Method == http.MethodGet && r.URL.Path == p {
				_, _ = w.Write([]byte(body))
				return
			}
		}
		http.Error(w, "no", status)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// keyless are offline options signing keylessly with a token from issuer.
func keyless(t *testing.T, issuer string) doctor.Options {
	o := offline(t)
	claims := gitlabClaims(time.Hour)
	claims["iss"] = issuer
	o.Signer.IdentityToken = jwt(t, claims)
	return o
}

func TestFulcio(t *testing.T) {
	const conf = `{"issuers":[{"issuerUrl":"https://gitlab.example.com","audience":"sigstore"},` +
		`{"wildcardIssuerUrl":"https://oidc.eks.*.amazonaws.com/id/*","audience":"sigstore"}]}`
	fulcio := standIn(t, http.StatusNotFound, conf, "/api/v2/configuration")
	old := standIn(t, http.StatusNotFound, `{}`, "/api/v2/trustBundle")
	broken := standIn(t, http.StatusInternalServerError, "")
	for _, tc := range []struct {
		name, url, issuer string
		status            doctor.Status
		detail            string
	}{
		{"issuer listed", fulcio, "https://gitlab.example.com", doctor.StatusOK, "accepts tokens from https://gitlab.example.com"},
		{"base URL with a trailing slash", fulcio + "/", "https://gitlab.example.com", doctor.StatusOK, "accepts tokens"},
		{"meta-issuer", fulcio, "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", doctor.StatusOK, "accepts tokens"},
		{"issuer with a trailing slash", fulcio, "https://gitlab.example.com/", doctor.StatusFail, "differ by a trailing slash"},
		{"issuer not listed", fulcio, "https://gitlab.other.example", doctor.StatusFail, "does not accept tokens from https://gitlab.other.example (it lists"},
		{"no configuration endpoint", old, "https://gitlab.example.com", doctor.StatusWarn, "its issuers not checked"},
		{"error status", broken, "https://gitlab.example.com", doctor.StatusFail, "500 Internal Server Error"},
		{"nothing listening", "http://127.0.0.1:1", "https://gitlab.example.com", doctor.StatusFail, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := keyless(t, tc.issuer)
			o.Signer.FulcioURL = tc.url
			r := doctor.Sigstore(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckFulcio), tc.status, []string{tc.detail})
		})
	}
}

// TestOIDC: the discovery document's issuer must be the token's, exactly;
// an issuer this machine cannot reach is only a warning (Fulcio, not
// hallmark, fetches it).
func TestOIDC(t *testing.T) {
	var base string
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"` + base + `/exact"}`))
		case "/slash/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"` + base + `/slash/"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(issuer.Close)
	base = issuer.URL
	for _, tc := range []struct {
		name, issuer string
		status       doctor.Status
		detail       string
	}{
		{"exact", base + "/exact", doctor.StatusOK, "publishes its discovery document"},
		{"trailing slash", base + "/slash", doctor.StatusFail, "differ by a trailing slash"},
		{"no discovery document", base + "/none", doctor.StatusWarn, "not checked"},
		{"unreachable", "http://127.0.0.1:1", doctor.StatusWarn, "not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := doctor.Sigstore(t.Context(), keyless(t, tc.issuer))
			wantCheck(t, mustCheck(t, r, doctor.CheckOIDC), tc.status, []string{tc.detail})
		})
	}
}

// TestTSA: the TSA is asked for a real RFC 3161 timestamp, at whatever path
// its URL has; with a trusted root, the timestamp must verify against it.
func TestTSA(t *testing.T) {
	ss := signertest.NewSigstore(t)
	other := signertest.NewSigstore(t)
	base := strings.TrimSuffix(ss.TSAURL, "/api/v1/timestamp")
	notTSA := standIn(t, http.StatusNotFound, `{}`, "/api/v1/timestamp/certchain")
	for _, tc := range []struct {
		name, url, root string
		rekorV2         bool
		status          doctor.Status
		detail          string
	}{
		{"not configured", "", "", false, doctor.StatusSkip, "no timestamp authority"},
		{"not configured, Rekor v2", "", "", true, doctor.StatusFail, "needs a timestamp authority"},
		{"sigstore path", ss.TSAURL, "", false, doctor.StatusOK, "issues RFC 3161 timestamps (its certificate not checked"},
		{"another path", base + "/tsr", "", false, doctor.StatusOK, "issues RFC 3161 timestamps"},
		{"the root path", base, "", false, doctor.StatusOK, "issues RFC 3161 timestamps"},
		{"trusted", ss.TSAURL, ss.TrustedRoot, false, doctor.StatusOK, "verify against the trusted root"},
		{"not in the trusted root", ss.TSAURL, other.TrustedRoot, false, doctor.StatusFail, "do not verify against the trusted root"},
		{"certificate chain only, no timestamps", notTSA + "/api/v1/timestamp", "", false, doctor.StatusFail, "not an RFC 3161 timestamp endpoint"},
		{"nothing listening", "http://127.0.0.1:1/api/v1/timestamp", "", false, doctor.StatusFail, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.TimestampServerURL, o.Verify.TrustedRoot = tc.url, tc.root
			if tc.rekorV2 {
				o.Signer.SkipTlogUpload, o.Signer.RekorURL, o.Signer.RekorVersion = false, "http://127.0.0.1:1", 2
			}
			r := doctor.Sigstore(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckTSA), tc.status, []string{tc.detail})
		})
	}
}

func TestServiceTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	o := offline(t)
	o.Signer.FulcioURL, o.Timeout = slow.URL, 200*time.Millisecond
	r := doctor.Run(t.Context(), o)
	wantCheck(t, mustCheck(t, r, doctor.CheckFulcio), doctor.StatusFail, []string{"deadline exceeded"})
}
