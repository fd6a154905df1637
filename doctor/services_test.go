package doctor_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/doctor"
)

// standIn answers 200 on the given paths and status otherwise; it stands
// in for Fulcio and the TSA where the real ones are not running.
func standIn(t *testing.T, status int, paths ...string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if r.Method == http.MethodGet && r.URL.Path == p {
				_, _ = w.Write([]byte(`{}`))
				return
			}
		}
		http.Error(w, "no", status)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestFulcio(t *testing.T) {
	up := standIn(t, http.StatusNotFound, "/api/v2/trustBundle")
	broken := standIn(t, http.StatusInternalServerError)
	for _, tc := range []struct {
		name, url string
		status    doctor.Status
		detail    string
	}{
		{"reachable", up, doctor.StatusOK, "serves its trust bundle"},
		{"trailing slash", up + "/", doctor.StatusOK, "serves its trust bundle"},
		{"error status", broken, doctor.StatusFail, "500 Internal Server Error"},
		{"nothing listening", "http://127.0.0.1:1", doctor.StatusFail, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.FulcioURL = tc.url
			r := doctor.Run(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckFulcio), tc.status, []string{tc.detail})
		})
	}
}

func TestTSA(t *testing.T) {
	up := standIn(t, http.StatusNotFound, "/api/v1/timestamp/certchain")
	for _, tc := range []struct {
		name, url string
		status    doctor.Status
		detail    string
		hint      string
	}{
		{"not configured", "", doctor.StatusSkip, "no timestamp authority", ""},
		{"reachable", up + "/api/v1/timestamp", doctor.StatusOK, "serves its certificate chain", ""},
		{"base URL only", up, doctor.StatusFail, "does not end in /api/v1/timestamp", up + "/api/v1/timestamp"},
		{"not a TSA", standIn(t, http.StatusNotFound) + "/api/v1/timestamp", doctor.StatusFail, "404 Not Found", "{signer.Options.TimestampServerURL}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.TimestampServerURL = tc.url
			r := doctor.Run(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckTSA), tc.status, []string{tc.detail}, tc.hint)
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
	start := time.Now()
	r := doctor.Run(t.Context(), o)
	wantCheck(t, mustCheck(t, r, doctor.CheckFulcio), doctor.StatusFail, []string{"deadline exceeded"})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %s with a 200ms timeout per check", d)
	}
}
