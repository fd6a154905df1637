package cli

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestMessages checks the messages of issue 16 item 5: an unset
// COSIGN_PASSWORD is not a wrong password, verify of a tag says
// "verifying", verify of a missing image says so, "1 annotation", and
// every log line on stderr has hallmark's one style.
func TestMessages(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	kp := signertest.Keys(t, "messages")
	d := reg.Image(t, "app")
	tag := d.Context().Tag("latest").String()
	missing := d.Context().Digest("sha256:" + strings.Repeat("1", 64)).String()

	code, _, errOut := run(t, append([]string{}, "sign", "--insecure-registry", reg.Host, "--key", kp.Private, "--tlog-upload=false", d.String())...)
	if code != exitUsage || strings.Contains(errOut, "wrong password") || !strings.Contains(errOut, "no password was given: set COSIGN_PASSWORD") {
		t.Errorf("unset COSIGN_PASSWORD: exit %d, %q; want exit 2 saying no password was given", code, errOut)
	}
	t.Setenv("COSIGN_PASSWORD", "not-it")
	if code, _, errOut = run(t, append([]string{}, "sign", "--insecure-registry", reg.Host, "--key", kp.Private, "--tlog-upload=false", d.String())...); !strings.Contains(errOut, "wrong password") {
		t.Errorf("wrong COSIGN_PASSWORD: exit %d, %q; want wrong password", code, errOut)
	}
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))

	code, _, errOut = run(t, append([]string{}, "sign", "--insecure-registry", reg.Host, "--key", kp.Private, "--tlog-upload=false", "--no-ci-annotations", "-a", "team=core", d.String())...)
	if code != 0 || !strings.Contains(errOut, "with 1 annotation;") {
		t.Errorf("sign: exit %d, %q; want \"with 1 annotation;\"", code, errOut)
	}

	code, _, errOut = run(t, append([]string{}, "verify", "--insecure-registry", reg.Host, "--key", kp.Public, "--insecure-ignore-tlog", tag)...)
	if code != 0 || strings.Contains(errOut, "signing a tag") || !strings.Contains(errOut, "hallmark: warning: verifying a tag") {
		t.Errorf("verify of a tag: exit %d, %q; want a \"verifying a tag\" warning", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(l, "hallmark: ") {
			t.Errorf("stderr line in another style: %q", l)
		}
	}

	code, _, errOut = run(t, append([]string{}, "verify", "--insecure-registry", reg.Host, "--key", kp.Public, "--insecure-ignore-tlog", missing)...)
	if code != exitVerify || !strings.Contains(errOut, "no image "+missing+" in the registry") {
		t.Errorf("verify of a missing image: exit %d, %q; want it named missing", code, errOut)
	}
}

// TestRefusalNamesCredentialSource signs and verifies on a registry that
// requires a login, with GitLab's CI_REGISTRY_* holding a wrong password:
// the error names the credential source, as the push path does, and never
// the password.
func TestRefusalNamesCredentialSource(t *testing.T) {
	noCI(t)
	const user, pass, wrong = "ci-user", "right-pass-9f1", "wrong-pass-7c3"
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(u.Host+"/g/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	d := ref.Context().Digest(dg.String()).String()
	kp := signertest.Keys(t, "refusal")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	t.Setenv("GITLAB_CI", "true")
	t.Setenv("CI_REGISTRY", u.Host)
	t.Setenv("CI_REGISTRY_USER", user)
	t.Setenv("CI_REGISTRY_PASSWORD", wrong)
	for _, args := range [][]string{
		{"sign", "--key", kp.Private, "--tlog-upload=false", "--insecure-registry", u.Host, d},
		{"verify", "--key", kp.Public, "--insecure-ignore-tlog", "--insecure-registry", u.Host, d},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, _, errOut := run(t, args...)
			if code == 0 || !strings.Contains(errOut, "registry "+u.Host+" refused") ||
				!strings.Contains(errOut, "credentials used: CI_REGISTRY_USER/CI_REGISTRY_PASSWORD") {
				t.Errorf("exit %d, %q; want the refusal and the credential source", code, errOut)
			}
			if strings.Contains(errOut, wrong) {
				t.Error("the password is printed")
			}
		})
	}
}
