package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// run runs hallmark with args and returns its exit code, stdout and the
// stderr including the final error line.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp(&stdout, &stderr)
	err := app.RunContext(context.Background(), append([]string{"hallmark"}, args...))
	code := report(&stderr, err, nil)
	return code, stdout.String(), stderr.String()
}

// noCI clears the variables that make hallmark think it runs in CI or has
// an identity token.
func noCI(t *testing.T) {
	for _, k := range []string{"GITLAB_CI", "GITHUB_ACTIONS", "SIGSTORE_ID_TOKEN", "COSIGN_PASSWORD",
		"HALLMARK_IDENTITY_TOKEN", "HALLMARK_IDENTITY_TOKEN_FILE", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "HALLMARK_KEY", "HALLMARK_PUBLIC_KEY", "HALLMARK_ANNOTATIONS", "HALLMARK_VERIFY_ANNOTATIONS"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
}

func TestSignVerifyKeyedCLI(t *testing.T) {
	noCI(t)
	for _, referrers := range []bool{true, false} {
		for _, mode := range []string{"legacy", "oci-1-1", "both"} {
			t.Run(signertest.Name(referrers)+"/"+mode, func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				kp := signertest.Keys(t, "cli")
				t.Setenv("COSIGN_PASSWORD", string(kp.Password))
				d := reg.Image(t, "app")
				common := []string{"--insecure-registry", reg.Host}
				code, out, errOut := run(t, append([]string{"sign", "--key", kp.Private, "--tlog-upload=false", "--no-ci-annotations",
					"--registry-referrers-mode", mode, "-a", "tag=v1", "-a", "team=core"}, append(common, d.String())...)...)
				if code != 0 || strings.TrimSpace(out) != d.String() {
					t.Fatalf("sign: exit %d, stdout %q, stderr %q", code, out, errOut)
				}
				t.Logf("sign stderr: %s", errOut)
				code, out, errOut = run(t, append([]string{"verify", "--key", kp.Public, "--insecure-ignore-tlog", "-a", "tag=v1"}, append(common, d.String())...)...)
				if code != 0 {
					t.Fatalf("verify: exit %d, stderr %q", code, errOut)
				}
				var sigs []map[string]any
				if err := json.Unmarshal([]byte(out), &sigs); err != nil || len(sigs) == 0 {
					t.Fatalf("verify stdout is not cosign's JSON array: %v %q", err, out)
				}
				t.Logf("verify stderr: %s", errOut)
				if !strings.Contains(errOut, "verified ") || strings.Count(errOut, "\n") != 2 ||
					!strings.Contains(errOut, "cosign v3: cosign verify --key "+kp.Public+" --annotations tag=v1 --insecure-ignore-tlog --allow-http-registry "+d.String()+"\n") {
					t.Fatalf("want a one-line summary and the cosign command on stderr, got %q", errOut)
				}
				code, _, errOut = run(t, append([]string{"verify", "--key", kp.Public, "--insecure-ignore-tlog", "-a", "tag=v2"}, append(common, d.String())...)...)
				if code != exitVerify || !strings.Contains(errOut, `annotation tag: want "v2", got "v1"`) {
					t.Fatalf("wrong annotation: exit %d, stderr %q", code, errOut)
				}
			})
		}
	}
}

func TestSignBadInput(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	kp := signertest.Keys(t, "cli")
	d := reg.Image(t, "app").String()
	valid := ss.Token("g/p", "sigstore", time.Now().Add(time.Hour))
	expired := ss.Token("g/p", "sigstore", time.Now().Add(-time.Hour))
	wrongAud := ss.Token("g/p", "gitlab", time.Now().Add(time.Hour))
	keyless := []string{"--fulcio-url", ss.FulcioURL, "--insecure-skip-verify", "--tlog-upload=false", "--insecure-registry", reg.Host}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		contains string
	}{
		{"annotation without =", nil, []string{"--key", kp.Private, "-a", "novalue", d}, exitUsage, "missing '='"},
		{"annotation with empty key", nil, []string{"--key", kp.Private, "-a", "=v", d}, exitUsage, "empty key"},
		{"unknown referrers mode", nil, []string{"--key", kp.Private, "--registry-referrers-mode", "oci11", d}, exitUsage, "unknown registry referrers mode"},
		{"wrong key password", map[string]string{"COSIGN_PASSWORD": "nope"}, []string{"--key", kp.Private, "--insecure-registry", reg.Host, d}, exitUsage, "wrong password"},
		{"no token", nil, append(keyless, d), exitUsage, "no OIDC identity token"},
		{"expired token", map[string]string{"SIGSTORE_ID_TOKEN": expired}, append(keyless, d), exitUsage, "expired OIDC identity token"},
		{"wrong audience", nil, append([]string{"--identity-token", wrongAud}, append(keyless, d)...), exitUsage, "wrong audience"},
		{"malformed token", nil, append([]string{"--identity-token", "abc.def"}, append(keyless, d)...), exitUsage, "malformed OIDC identity token"},
		{"unreachable fulcio", nil, append([]string{"--identity-token", valid, "--fulcio-url", testutil.ClosedURL(t)}, append(keyless[2:], d)...), exitSign, "fulcio at http://127.0.0.1"},
		{"unreachable tsa", map[string]string{"COSIGN_PASSWORD": string(kp.Password)},
			[]string{"--key", kp.Private, "--tlog-upload=false", "--timestamp-server-url", testutil.ClosedURL(t), "--insecure-registry", reg.Host, d}, exitSign, "timestamp authority at"},
		{"no argument", nil, []string{"--key", kp.Private}, exitUsage, "one image reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, errOut := run(t, append([]string{"sign"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.contains)
			}
			t.Logf("exit %d: %s", code, errOut)
			if out != "" {
				t.Fatalf("stdout on failure: %q", out)
			}
			for _, tok := range []string{valid, expired, wrongAud} {
				if strings.Contains(errOut, tok) || strings.Contains(errOut, strings.Split(tok, ".")[1]) {
					t.Fatal("the token is printed")
				}
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("want one line on stderr, got %q", errOut)
			}
		})
	}
}

func TestSignVerifyKeylessCLI(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app").String()
	t.Setenv("SIGSTORE_ID_TOKEN", ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)))
	code, out, errOut := run(t, "sign", "--fulcio-url", ss.FulcioURL, "--insecure-skip-verify", "--tlog-upload=false",
		"--timestamp-server-url", ss.TSAURL, "--both-formats", "--registry-referrers-mode", "both", "--no-ci-annotations", "-a", "tag=v1",
		"--insecure-registry", reg.Host, d)
	if code != 0 || strings.TrimSpace(out) != d {
		t.Fatalf("sign: exit %d, stderr %q", code, errOut)
	}
	trust := []string{"--ca-roots", ss.CARoots, "--ca-intermediates", ss.CAIntermediates, "--timestamp-certificate-chain", ss.TSAChain,
		"--insecure-ignore-tlog", "--insecure-ignore-sct", "--insecure-registry", reg.Host}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"passes", []string{"--certificate-identity", ss.Identity("g/p"), "--certificate-oidc-issuer", ss.Issuer, "-a", "tag=v1"}, 0, "3 of 3 signatures match (bundle-fallback: 1, legacy: 1, oci-1-1-fallback: 1)"},
		{"wrong identity", []string{"--certificate-identity", ss.Identity("g/q"), "--certificate-oidc-issuer", ss.Issuer}, exitVerify, "identity: want"},
		{"wrong issuer", []string{"--certificate-identity", ss.Identity("g/p"), "--certificate-oidc-issuer", "https://gitlab.com"}, exitVerify, "issuer: want"},
		{"no policy", nil, exitUsage, "no verification policy"},
		{"identity without issuer", []string{"--certificate-identity", ss.Identity("g/p")}, exitUsage, "no verification policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, append(append([]string{"verify"}, tc.args...), append(trust, d)...)...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.contains)
			}
		})
	}
}

func TestVerifyUnsignedImage(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, true)
	kp := signertest.Keys(t, "cli")
	d := reg.Image(t, "app").String()
	code, out, errOut := run(t, "verify", "--key", kp.Public, "--insecure-ignore-tlog", "--insecure-registry", reg.Host, d)
	if code != exitVerify || !strings.Contains(errOut, "no signatures for "+d) || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestVerifyCIPolicy(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, true)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app").String()
	t.Setenv("SIGSTORE_ID_TOKEN", ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)))
	if code, _, errOut := run(t, "sign", "--fulcio-url", ss.FulcioURL, "--insecure-skip-verify", "--tlog-upload=false",
		"--no-ci-annotations", "--insecure-registry", reg.Host, d); code != 0 {
		t.Fatal(errOut)
	}
	for k, v := range map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": ss.Issuer,
		"CI_PROJECT_URL": ss.Issuer + "/g/p", "CI_COMMIT_REF_NAME": "main"} {
		t.Setenv(k, v)
	}
	code, _, errOut := run(t, "verify", "--ca-roots", ss.CARoots, "--ca-intermediates", ss.CAIntermediates,
		"--insecure-ignore-tlog", "--insecure-ignore-sct", "--insecure-registry", reg.Host, d)
	if code != 0 || !strings.Contains(errOut, "cosign verify --certificate-identity "+ss.Identity("g/p")) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestSignTokenPrecedence(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app").String()
	file := t.TempDir() + "/token"
	if err := os.WriteFile(file, []byte(ss.Token("g/p", "sigstore", time.Now().Add(time.Hour))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGSTORE_ID_TOKEN", ss.Token("g/p", "sigstore", time.Now().Add(-time.Hour)))
	keyless := []string{"sign", "--fulcio-url", ss.FulcioURL, "--insecure-skip-verify", "--tlog-upload=false", "--no-ci-annotations", "--insecure-registry", reg.Host}
	if code, _, errOut := run(t, append(keyless, "--identity-token-file", file, d)...); code != 0 {
		t.Fatalf("--identity-token-file did not win over $SIGSTORE_ID_TOKEN: %s", errOut)
	}
	if code, _, errOut := run(t, append(keyless, d)...); code != exitUsage || !strings.Contains(errOut, "expired") {
		t.Fatalf("ambient expired token: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, append(keyless, "--identity-token-file", file+".missing", d)...); code != exitUsage {
		t.Fatalf("missing token file: exit %d, %s", code, errOut)
	}
}
