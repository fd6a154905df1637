package doctor_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// tokenSignature is the signature part of every test token.
const tokenSignature = "c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2Vu"

// jwt makes an unsigned JWT-shaped token with claims; the signature part
// is a fixed marker, so tests can look for the token in output.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + "." + tokenSignature
}

// gitlabClaims are the claims of a GitLab CI ID token for group/app on
// main, expiring after ttl.
func gitlabClaims(ttl time.Duration) map[string]any {
	return map[string]any{
		"iss": "https://gitlab.example.com", "aud": "sigstore",
		"sub":               "project_path:group/app:ref_type:branch:ref:main",
		"exp":               time.Now().Add(ttl).Unix(),
		"ci_config_ref_uri": "gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main",
		"project_path":      "group/app",
	}
}

// newRegistry serves an in-memory registry with or without the referrers
// API and returns its host.
func newRegistry(t *testing.T, referrers bool) string {
	t.Helper()
	s := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(referrers), ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// pushRandom pushes a small random image to ref, so its repository exists.
func pushRandom(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushRandom(t, r)
}

// mustCheck returns the named check or fails the test.
func mustCheck(t *testing.T, r doctor.Report, name string) doctor.Check {
	t.Helper()
	c, ok := r.Check(name)
	if !ok {
		t.Fatalf("report has no %s check: %+v", name, r)
	}
	return c
}

// wantCheck checks a check's status and that its detail (and hint, when
// given) contain the fragments.
func wantCheck(t *testing.T, c doctor.Check, status doctor.Status, detail []string, hint ...string) {
	t.Helper()
	if c.Status != status {
		t.Errorf("%s: status %s, want %s (detail %q, hint %q)", c.Name, c.Status, status, c.Detail, c.Hint)
	}
	for _, f := range detail {
		if !strings.Contains(c.Detail, f) {
			t.Errorf("%s: detail %q lacks %q", c.Name, c.Detail, f)
		}
	}
	for _, f := range hint {
		if !strings.Contains(c.Hint, f) {
			t.Errorf("%s: hint %q lacks %q", c.Name, c.Hint, f)
		}
	}
}

// noSecret fails when the report's JSON contains any of the secrets.
func noSecret(t *testing.T, r doctor.Report, secrets ...string) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(b), s) {
			t.Errorf("the report contains a secret (%d bytes)", len(s))
		}
	}
}

// offline are options whose buildkitd, Fulcio, signing and trust checks
// fail fast without the network, for tests about other checks: keyless
// without a trusted root file, the trusted root comes from a TUF mirror
// nothing answers at.
func offline(t *testing.T) doctor.Options {
	const mirror = "http://127.0.0.1:1"
	_, tufRoot := testutil.TUFRepo(t, nil)
	return doctor.Options{
		Buildkit: builderAt("unix://" + t.TempDir() + "/none.sock"),
		Signer:   signer.Options{FulcioURL: "http://127.0.0.1:1", SkipTlogUpload: true, TUFMirror: mirror, TUFRoot: tufRoot},
		Verify:   verifier.Trust{IgnoreTlog: true, TUFMirror: mirror, TUFRoot: tufRoot},
		Timeout:  5 * time.Second,
	}
}

func builderAt(addr string) builder.ConnectOptions { return builder.ConnectOptions{Addr: addr} }
