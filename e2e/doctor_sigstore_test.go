package e2e

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// TestDoctorSigstore: doctor against the bed's whole Sigstore instance,
// each problem a user of a private instance meets named by its check: a
// token whose issuer differs from the configured one by a trailing slash,
// an unreachable Rekor, a Rekor or CT log missing from the trusted root, a
// trusted root listing another key for the Rekor (its checkpoint's
// signature does not verify), Rekor v2 without a TSA, an upload
// verification then ignores. A TSA served at another path than sigstore's
// (a generic RFC 3161 service) passes; a Rekor v2 serving no checkpoint
// (the bed's rekor-server alone, without its tiles) is a warning.
func TestDoctorSigstore(t *testing.T) {
	b := bed(t)
	sign, trust := defaultPathSign(t, b, "bundle")
	rekorURL, trustedRoot := flagValue(t, sign, "--rekor-url"), flagValue(t, trust, "--trusted-root")
	noTilesURL, noTilesRoot := rekorWithoutTiles(t, b)
	otherKey := withOtherRekorKey(t, trustedRoot)
	tsa, err := url.Parse(b.Getenv("HALLMARK_TEST_TSA_URL"))
	if err != nil {
		t.Fatal(err)
	}
	// The bed's TSA behind /rfc3161/tsr, as a generic RFC 3161 service.
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: tsa.Scheme, Host: tsa.Host})
		if r.In.URL.Path == "/rfc3161/tsr" {
			r.Out.URL.Path = tsa.Path
		}
	}})
	t.Cleanup(proxy.Close)
	closed := "http://" + testutil.ClosedAddr(t)
	noCT := withoutCTLogs(t, b.SigstoreTrustedRoot())
	oldRoot := b.Getenv("HALLMARK_TEST_TRUSTED_ROOT") // Fulcio + TSA only
	token := b.Token(t, "project_path=group/app")
	slashToken := b.Token(t, "project_path=group/app&iss="+url.QueryEscape(b.Issuer()+"/"))
	for _, tc := range []struct {
		name   string
		token  string
		args   []string
		check  string
		status string
		detail []string
		code   int
	}{
		{"healthy", token, nil, "", "", nil, 0},
		{"TSA at another path", token, []string{"--timestamp-server-url", proxy.URL + "/rfc3161/tsr"}, "tsa", "ok",
			[]string{proxy.URL + "/rfc3161/tsr", "verify against the trusted root"}, 0},
		{"TSA URL that is no timestamp endpoint", token, []string{"--timestamp-server-url", proxy.URL + "/api/v1"}, "tsa", "fail",
			[]string{"not an RFC 3161 timestamp endpoint"}, exitSign},
		{"issuer with a trailing slash", slashToken, nil, "fulcio", "fail", []string{"differ by a trailing slash"}, exitSign},
		{"unreachable Rekor", token, []string{"--rekor-url", closed}, "rekor", "fail", []string{closed, "connection refused"}, exitSign},
		{"Rekor key not in the trusted root", token, []string{"--trusted-root", oldRoot}, "rekor", "fail",
			[]string{"holds no key", "for the Rekor at " + rekorURL, "its checkpoint is signed by 127.0.0.1+", "a key the trusted root does not hold"}, exitSign},
		{"trusted root listing another Rekor key", token, []string{"--trusted-root", otherKey}, "rekor", "fail",
			[]string{"the checkpoint of Rekor v2 at " + rekorURL + " is not signed by the trusted root", "log ID", "a key the trusted root does not hold"}, exitSign},
		{"Rekor v2 serving no checkpoint", token, []string{"--rekor-url", noTilesURL, "--trusted-root", noTilesRoot}, "rekor", "warn",
			[]string{"serves no checkpoint at " + noTilesURL + "/checkpoint"}, 0},
		{"no CT log in the trusted root", token, []string{"--trusted-root", noCT}, "ctlog", "fail", []string{"lists no CT log key"}, exitSign},
		{"Rekor v2 without a TSA", token, []string{"--timestamp-server-url", ""}, "tsa", "fail", []string{"needs a timestamp authority"}, exitSign},
		{"upload, then ignored", token, []string{"--insecure-ignore-tlog"}, "insecure-flags", "fail", []string{"verification ignores it"}, exitUsage},
		{"no upload, then required", token, []string{"--tlog-upload=false"}, "insecure-flags", "fail", []string{"requires a log entry"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(), "--sigstore-ca-cert", b.Getenv("HALLMARK_TEST_TLS_CA")},
				append(append(sign, trust...), tc.args...)...)
			r := hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + tc.token}, args...)
			d := parseDoctor(t, r)
			if tc.check == "" {
				mustSucceed(t, r)
				for _, name := range []string{"trust", "oidc", "fulcio", "ctlog", "rekor", "tsa", "insecure-flags"} {
					if status, detail, _ := d.check(t, name); status != "ok" {
						t.Errorf("%s: %s %s", name, status, detail)
					}
				}
				if _, detail, facts := d.check(t, "trust"); facts["trustedRoot"] != "file "+trustedRoot {
					t.Errorf("trust: %q %v, want the trusted root from file %s", detail, facts, trustedRoot)
				}
				if _, detail, _ := d.check(t, "rekor"); !strings.Contains(detail, "its checkpoint (origin 127.0.0.1,") {
					t.Errorf("rekor: %q, want its checkpoint checked", detail)
				}
				return
			}
			status, detail, _ := d.check(t, tc.check)
			if status != tc.status {
				t.Errorf("%s: %s %q, want %s", tc.check, status, detail, tc.status)
			}
			for _, f := range tc.detail {
				if !strings.Contains(detail, f) {
					t.Errorf("%s: %q lacks %q", tc.check, detail, f)
				}
			}
			if tc.code == 0 {
				if r.Code != 0 {
					t.Errorf("exit %d, want 0:\n%s", r.Code, r.Stderr)
				}
				return
			}
			assertOneLineError(t, r, tc.code, tc.check)
			if containsAny(r.Stdout+r.Stderr, tc.token, strings.Split(tc.token, ".")[2]) != "" {
				t.Error("the identity token appears in the output")
			}
		})
	}
}

// TestDoctorTableEverywhere: the same table in a terminal-like run and in a
// GitLab CI job's log, and --output json gives tools the same checks; a
// referrers API doctor could not probe is "not checked", never "ok".
func TestDoctorTableEverywhere(t *testing.T) {
	b := bed(t)
	priv, _ := keyPair(t, "pw")
	reg := b.ReferrersRegistry()
	repo := uniqueRepo(t, reg) // never pushed: the referrers API cannot be asked
	args := []string{"doctor", "--addr", b.BuildkitUnix(), "--image", repo, "--insecure-registry", reg, "--key", priv,
		"--tlog-upload=false", "--insecure-ignore-tlog"}
	local := hallmark(t, []string{"COSIGN_PASSWORD=pw", "TERM=xterm-256color", "COLUMNS=200"}, args...)
	mustSucceed(t, local)
	job := gitlabEnv(reg, "0123456789abcdef0123456789abcdef01234567")
	job["COSIGN_PASSWORD"], job["CI_REGISTRY_USER"], job["CI_REGISTRY_PASSWORD"], job["CI_JOB_TOKEN"] = "pw", "", "", ""
	ci := hallmark(t, envList(job), args...)
	mustSucceed(t, ci)
	if local.Stderr != ci.Stderr {
		t.Errorf("the table differs between a terminal and a CI log:\n--- terminal\n%s--- CI\n%s", local.Stderr, ci.Stderr)
	}
	if strings.Contains(local.Stderr, "\x1b") {
		t.Errorf("escape sequences in the table:\n%q", local.Stderr)
	}
	j := hallmark(t, []string{"COSIGN_PASSWORD=pw"}, append(args, "--output", "json")...)
	mustSucceed(t, j)
	d := parseDoctor(t, j)
	if j.Stderr != local.Stderr {
		t.Errorf("--output json changed the table on stderr:\n%s", j.Stderr)
	}
	status, detail, facts := d.check(t, "referrers")
	if status != "skip" || !strings.HasPrefix(detail, "not checked:") || facts["supported"] != "unknown" {
		t.Errorf("referrers of a repository not pushed yet: %s %q %v, want skip, not checked, unknown", status, detail, facts)
	}
	for _, c := range d.Checks {
		if !strings.Contains(local.Stderr, c.Name) {
			t.Errorf("check %s is in the JSON, not in the table", c.Name)
		}
	}
}

// TestDoctorSigningConfig: with --signing-config, doctor checks the
// services the signer will select from it (cosign v3's selection), here the
// bed's Fulcio, Rekor v2 and TSA; the trust check names the file.
func TestDoctorSigningConfig(t *testing.T) {
	b := bed(t)
	b.RequireTransparency()
	// The instance's --signing-config and --trusted-root; its Rekor serves
	// its checkpoint with its tiles.
	rekorURL := b.RekorURL()
	sign := []string{"--signing-config", b.SigningConfig(), "--trusted-root", b.SigstoreTrustedRoot()}
	r := hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + b.Token(t, "project_path=group/app")},
		append([]string{"doctor", "--output", "json", "--addr", b.BuildkitUnix(), "--sigstore-ca-cert", b.Getenv("HALLMARK_TEST_TLS_CA")}, sign...)...)
	mustSucceed(t, r)
	d := parseDoctor(t, r)
	for name, url := range map[string]string{"fulcio": b.Getenv("HALLMARK_TEST_FULCIO_URL"), "rekor": rekorURL, "tsa": b.Getenv("HALLMARK_TEST_TSA_URL")} {
		status, detail, facts := d.check(t, name)
		if status != "ok" || facts["url"] != url {
			t.Errorf("%s: %s %q (url %q), want ok at %s", name, status, detail, facts["url"], url)
		}
	}
	if _, _, facts := d.check(t, "trust"); facts["signingConfig"] != "signing config "+sign[1] {
		t.Errorf("trust: signing config from %q, want the file %s", facts["signingConfig"], sign[1])
	}
	if _, _, facts := d.check(t, "rekor"); facts["version"] != "2" {
		t.Errorf("rekor version %q, want 2 from the signing config", facts["version"])
	}
}

// flagValue returns the value of the last flag in args.
func flagValue(t *testing.T, args []string, flag string) string {
	t.Helper()
	for i := len(args) - 2; i >= 0; i-- {
		if args[i] == flag {
			return args[i+1]
		}
	}
	t.Fatalf("%q has no %s", args, flag)
	return ""
}

// TestDoctorTUF: with no trust or service flag but a TUF repository
// (--tuf-mirror, --tuf-root), doctor resolves the trusted root and the
// signing config from it as sign and verify do, says so with the
// repository's metadata versions, and checks the services they name: the
// bed's Rekor v2 checkpoint verifies against the TUF trusted root's key;
// a repository whose trusted root lists another Rekor key fails the rekor
// check, with the exit code of any signing failure.
func TestDoctorTUF(t *testing.T) {
	b := bed(t)
	b.RequireTransparency()
	rekorURL, trustedRoot, signingConfig := b.RekorURL(), b.SigstoreTrustedRoot(), b.SigningConfig()
	token := b.Token(t, "project_path=group/app")
	for _, tc := range []struct {
		name   string
		root   string
		status string
		detail string
		code   int
	}{
		{"the instance's trusted root", trustedRoot, "ok", "is signed by the trusted root's key for it", 0},
		{"another Rekor key", withOtherRekorKey(t, trustedRoot), "fail", "is not signed by the trusted root from TUF mirror", exitSign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			targets := map[string][]byte{}
			for name, path := range map[string]string{"trusted_root.json": tc.root, "signing_config.v0.2.json": signingConfig} {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				targets[name] = data
			}
			mirror, root := testutil.TUFRepo(t, targets)
			fromTUF := "TUF mirror " + mirror + " (root v1, targets v1)"
			r := hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + token, "HOME=" + t.TempDir()}, "doctor", "--output", "json",
				"--addr", b.BuildkitUnix(), "--sigstore-ca-cert", b.Getenv("HALLMARK_TEST_TLS_CA"), "--tuf-mirror", mirror, "--tuf-root", root)
			d := parseDoctor(t, r)
			status, detail, facts := d.check(t, "trust")
			if status != "ok" || facts["trustedRoot"] != fromTUF || facts["signingConfig"] != fromTUF {
				t.Errorf("trust: %s %q %v, want both from %s", status, detail, facts, fromTUF)
			}
			status, detail, facts = d.check(t, "rekor")
			if status != tc.status || !strings.Contains(detail, tc.detail) || facts["url"] != rekorURL {
				t.Errorf("rekor: %s %q %v, want %s %q at %s", status, detail, facts, tc.status, tc.detail, rekorURL)
			}
			if tc.code == 0 {
				mustSucceed(t, r)
				return
			}
			assertOneLineError(t, r, tc.code, "rekor", rekorURL, "is not signed by the trusted root")
		})
	}
}
