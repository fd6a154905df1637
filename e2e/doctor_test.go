package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// doctorJSON is what hallmark doctor --output json prints.
type doctorJSON struct {
	OK     bool
	Checks []struct {
		Name, Stage, Status, Detail, Hint string
		Facts                             map[string]string
	}
}

func parseDoctor(t *testing.T, r result) doctorJSON {
	t.Helper()
	var d doctorJSON
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("doctor stdout is not its JSON report: %v\n%s", err, r)
	}
	return d
}

// check returns the named check of the report, failing the test without it.
func (d doctorJSON) check(t *testing.T, name string) (status, detail string, facts map[string]string) {
	t.Helper()
	for _, c := range d.Checks {
		if c.Name == name {
			return c.Status, c.Detail, c.Facts
		}
	}
	t.Fatalf("no %s check in %+v", name, d)
	return "", "", nil
}

// pushedRepo is a new repository on reg holding one small image, so the
// referrers API can be asked about it.
func pushedRepo(t *testing.T, reg string) string {
	t.Helper()
	repo := uniqueRepo(t, reg)
	ref, err := name.ParseReference(repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushRandom(t, ref, remote.WithContext(t.Context()))
	return repo
}

// testToken is an unsigned GitLab-shaped token expiring after ttl: enough
// for doctor, which reads the claims and leaves the signature to Fulcio.
func testToken(ttl time.Duration) string {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	claims := fmt.Sprintf(`{"iss":"https://gitlab.example.com","aud":"sigstore","sub":"project_path:group/app:ref_type:branch:ref:main",`+
		`"ci_config_ref_uri":"gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main","exp":%d}`, time.Now().Add(ttl).Unix())
	return enc(`{"alg":"RS256","typ":"JWT"}`) + "." + enc(claims) + ".dGVzdC1zaWduYXR1cmUtZG9jdG9y"
}

// fulcioURL is the bed's Fulcio, or a stand-in answering its trust bundle
// where the bed's signing services are not up.
func fulcioURL(t *testing.T) string {
	if u := os.Getenv("HALLMARK_TEST_FULCIO_URL"); u != "" {
		return u
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/trustBundle" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// TestDoctorHealthy: on the bed with a key, every check passes; the
// referrers API is reported on the ggcr registry and not on distribution.
func TestDoctorHealthy(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "doctor-pw")
	sign, trust := defaultPathSign(t, b, "bundle")
	for _, tc := range []struct {
		reg       string
		supported string
	}{{b.ReferrersRegistry(), "true"}, {b.PlainRegistry(), "false"}} {
		t.Run(tc.reg, func(t *testing.T) {
			t.Parallel()
			repo := pushedRepo(t, tc.reg)
			args := append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(),
				"--image", repo, "--insecure-registry", tc.reg, "--key", priv}, append(sign, trust...)...)
			r := hallmark(t, []string{"COSIGN_PASSWORD=doctor-pw"}, args...)
			mustSucceed(t, r)
			d := parseDoctor(t, r)
			if !d.OK {
				t.Errorf("ok false:\n%s", r)
			}
			for _, c := range d.Checks {
				if c.Status == "fail" || c.Status == "warn" {
					t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
				}
			}
			if _, _, facts := d.check(t, "referrers"); facts["supported"] != tc.supported {
				t.Errorf("referrers supported = %q, want %q", facts["supported"], tc.supported)
			}
			if _, detail, facts := d.check(t, "buildkitd"); facts["address"] != b.BuildkitUnix() || facts["version"] == "" {
				t.Errorf("buildkitd: %s %v", detail, facts)
			}
			for _, name := range []string{"oidc", "fulcio", "ctlog"} {
				if status, _, _ := d.check(t, name); status != "skip" {
					t.Errorf("%s %s, want skip when signing with a key", name, status)
				}
			}
			for _, name := range []string{"rekor", "tsa", "insecure-flags"} {
				if status, detail, _ := d.check(t, name); status != "ok" {
					t.Errorf("%s: %s %s", name, status, detail)
				}
			}
			for _, h := range []string{"CHECK", "STATUS", "DETAIL", "referrers", "buildkitd"} {
				if !strings.Contains(r.Stderr, h) {
					t.Errorf("stderr table lacks %q:\n%s", h, r.Stderr)
				}
			}
			if sec := containsAny(r.Stdout+r.Stderr, "doctor-pw"); sec != "" {
				t.Error("the key password appears in the output")
			}
		})
	}
}

// TestDoctorKeyless: a token minted by the bed's issuer, the bed's Fulcio
// and TSA; the identity is the one Fulcio will certify, and the token never
// appears in the output.
func TestDoctorKeyless(t *testing.T) {
	b := bed(t)
	sb := signertest.RequireBed(t)
	sb.RequireSigning(t)
	tok := sb.Token(t, url.Values{"project_path": {"group/app"}})
	repo := pushedRepo(t, b.ReferrersRegistry())
	sign, trust := defaultPathSign(t, b, "bundle")
	args := append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(),
		"--image", repo, "--insecure-registry", b.ReferrersRegistry(), "--sigstore-ca-cert", b.Getenv("HALLMARK_TEST_TLS_CA")}, append(sign, trust...)...)
	r := hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + tok}, args...)
	mustSucceed(t, r)
	d := parseDoctor(t, r)
	status, detail, facts := d.check(t, "signing")
	if status != "ok" || facts["identity"] != sb.Identity("group/app") || facts["issuer"] != sb.Issuer || facts["audiences"] != "sigstore" {
		t.Errorf("signing %s %q %v, want identity %s from %s", status, detail, facts, sb.Identity("group/app"), sb.Issuer)
	}
	for _, name := range []string{"oidc", "fulcio", "ctlog", "rekor", "tsa", "insecure-flags"} {
		if status, detail, _ := d.check(t, name); status != "ok" {
			t.Errorf("%s: %s %s", name, status, detail)
		}
	}
	if containsAny(r.Stdout+r.Stderr, tok, strings.Split(tok, ".")[2]) != "" {
		t.Error("the identity token appears in the output")
	}
}

// TestDoctorProblems: each problem exits non-zero with one error line
// naming it, the table's hint, and never the token.
func TestDoctorProblems(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "pw")
	reg := b.ReferrersRegistry()
	repo := uniqueRepo(t, reg)
	fulcio := fulcioURL(t)
	expired := testToken(-5 * time.Minute)
	sign, _ := defaultPathSign(t, b, "bundle")
	common := slices.Clip(append(append([]string{"doctor", "--image", repo, "--insecure-registry", reg}, sign...), "--fulcio-url", fulcio)) // appended to in parallel
	for _, tc := range []struct {
		name      string
		env, args []string
		code      int
		fragments []string
		hint      string
	}{
		{"unreachable buildkitd", []string{"COSIGN_PASSWORD=pw"}, []string{"--addr", "unix:///nonexistent/buildkitd.sock", "--key", priv},
			exitBuild, []string{"a release would fail", "buildkitd", "cannot reach buildkitd"}, "rootlesskit buildkitd"},
		{"expired token", []string{"SIGSTORE_ID_TOKEN=" + expired}, []string{"--addr", b.BuildkitUnix()},
			exitUsage, []string{"signing", "expired at"}, "fresh token"},
		{"expired token flag", nil, []string{"--addr", b.BuildkitUnix(), "--identity-token", expired, "--output", "json"},
			exitUsage, []string{"signing", "expired at"}, "fresh token"},
		{"no token and no key", []string{"SIGSTORE_ID_TOKEN="}, []string{"--addr", b.BuildkitUnix()},
			exitUsage, []string{"no OIDC identity token for keyless signing", "--key"}, "--key"}, // release's own line
		{"no token in a GitLab job", append(envList(gitlabEnv(reg, "0123456789abcdef0123456789abcdef01234567")), "SIGSTORE_ID_TOKEN="),
			[]string{"--addr", b.BuildkitUnix()}, exitUsage, []string{"no OIDC identity token for keyless signing", "id_tokens"}, "id_tokens"},
		{"wrong key password", []string{"COSIGN_PASSWORD=wrong"}, []string{"--addr", b.BuildkitUnix(), "--key", priv},
			exitUsage, []string{"signing", "wrong password"}, "COSIGN_PASSWORD"},
		{"bad output", nil, []string{"--output", "yaml"}, exitUsage, []string{"--output"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := hallmark(t, tc.env, append(common, tc.args...)...)
			assertOneLineError(t, r, tc.code, tc.fragments...)
			if tc.hint != "" && !(strings.Contains(r.Stderr, "hint: ") && strings.Contains(r.Stderr, tc.hint)) {
				t.Errorf("stderr lacks the hint %q:\n%s", tc.hint, r.Stderr)
			}
			if containsAny(r.Stdout+r.Stderr, expired, strings.Split(expired, ".")[2]) != "" {
				t.Errorf("a secret appears in the output:\n%s", r)
			}
			if strings.Contains(strings.Join(tc.args, " "), "--output json") {
				if d := parseDoctor(t, r); d.OK {
					t.Errorf("JSON says ok on failure:\n%s", r.Stdout)
				}
			} else if r.Stdout != "" {
				t.Errorf("stdout must be empty without --output json, got %q", r.Stdout)
			}
		})
	}
}
