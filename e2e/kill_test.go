package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// keyedRelease returns release arguments signing with a fresh key
// (decrypted while the build runs, before the push) on the default path
// (a bundle in the bed's Rekor v2 with a TSA timestamp, verified against
// the instance's trusted root: defaultPathSign), and the environment
// holding its password.
func keyedRelease(t *testing.T, addr, reg, ctxDir, repo string, extra ...string) ([]string, []string) {
	t.Helper()
	const password = "pw-kill-0b7e"
	priv, _ := keyPair(t, password)
	sign, _ := defaultPathSign(t, bed(t), "bundle")
	args := append(append([]string{"release", "--addr", addr, "--insecure-registry", reg, "--context", ctxDir, "--progress", "plain",
		"--image", repo, "--tag", "v1", "--key", priv}, sign...), extra...)
	return args, []string{"COSIGN_PASSWORD=" + password}
}

// TestKillBuildkitdDuringBuild kills a private buildkitd (SIGKILL) while
// the release's RUN step sleeps: one error line, exit 3, nothing pushed or
// signed.
func TestKillBuildkitdDuringBuild(t *testing.T) {
	b := bed(t)
	t.Parallel()
	addr, bk := privateBuildkitd(t, b)
	ctxDir, marker := sleepContext(t, b)
	reg := b.PlainRegistry()
	repo := uniqueRepo(t, reg)
	args, env := keyedRelease(t, addr, reg, ctxDir, repo)
	h := startHallmark(t, env, args...)
	waitFor(t, time.Minute, "the build's RUN step", func() bool { return len(processesWith(marker)) > 0 || h.exited() })
	if h.exited() {
		t.Fatalf("release ended before its RUN step ran:\n%s", h.res)
	}
	killed := time.Now()
	bk.kill()
	r := h.wait(t, time.Minute)
	t.Logf("buildkitd killed mid-build: hallmark exited %d after %v: %s", r.Code, time.Since(killed).Round(time.Millisecond), lastLine(r.Stderr))
	assertOneLineError(t, r, exitBuild, "building on "+addr)
	if r.Stdout != "" {
		t.Errorf("stdout must be empty on failure, got %q", r.Stdout)
	}
	assertNothingSigned(t, repo)
}

// TestKillRegistryDuringPush kills a private registry (SIGKILL) while a
// proxy holds a push to it: the image push by buildkitd (exit 3) or the
// signature push by hallmark (exit 4). Either way one error line, and once
// the registry is back on its storage it holds no signature.
func TestKillRegistryDuringPush(t *testing.T) {
	b := bed(t)
	tests := []struct {
		name string
		hold match
		code int
		says string
	}{
		{"image push", func(method, path, ua string) bool {
			return method == http.MethodPut && strings.Contains(path, "/blobs/uploads/") && !strings.HasPrefix(ua, "hallmark")
		}, exitBuild, "building on"},
		// The bundle referrer is stored; the fallback index that lists it is held.
		{"signature push", func(method, path, ua string) bool {
			return method == http.MethodPut && strings.Contains(path, "/manifests/sha256-") && strings.HasPrefix(ua, "hallmark")
		}, exitSign, "signing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pr := startPrivateRegistry(t)
			p, proxy, stop := testutil.FaultProxy(t, "http://"+pr.addr, faultproxy.Options{Delay: tt.hold.hold(time.Minute)})
			ctxDir, df := buildContext(t, b)
			repoPath := strings.TrimPrefix(uniqueRepo(t, "x"), "x/")
			args, env := keyedRelease(t, b.BuildkitUnix(), proxy, ctxDir, proxy+"/"+repoPath, "-f", df)
			h := startHallmark(t, env, args...)
			waitFor(t, time.Minute, "the held push", func() bool { return held(p, tt.hold) || h.exited() })
			if h.exited() {
				t.Fatalf("release ended before the push was held:\n%s", h.res)
			}
			killed := time.Now()
			pr.d.kill()
			stop() // the registry's address is dead now: connections refused
			r := h.wait(t, 2*time.Minute)
			t.Logf("registry killed during the %s: hallmark exited %d after %v: %s", tt.name, r.Code, time.Since(killed).Round(time.Millisecond), lastLine(r.Stderr))
			assertOneLineError(t, r, tt.code, tt.says)
			pr.start(t)
			assertNothingSigned(t, pr.addr+"/"+repoPath)
		})
	}
}

// match picks requests by method, path and user agent.
type match func(method, path, ua string) bool

// hold is a faultproxy delay holding the requests m matches for d.
func (m match) hold(d time.Duration) func(*http.Request) time.Duration {
	return func(r *http.Request) time.Duration {
		if m(r.Method, r.URL.Path, r.UserAgent()) {
			return d
		}
		return 0
	}
}

// held reports whether the proxy has seen a request m matches.
func held(p *faultproxy.Proxy, m match) bool {
	for _, r := range p.Requests() {
		if m(r.Method, r.Path, r.UserAgent) {
			return true
		}
	}
	return false
}

// TestSigningServiceDown releases keyless while Fulcio or the TSA is down:
// refusing connections, or dying while it holds the request (a proxy in
// front of the bed's service is stopped). The release fails with one error
// line naming the service, exit 4, and the image carries no signature.
// Fulcio is asked during the build and the push waits for its answer, so
// without a certificate nothing is pushed; the TSA is asked after the push.
func TestSigningServiceDown(t *testing.T) {
	b := bed(t)
	sign, _ := defaultPathSign(t, b, "bundle")
	tests := []struct {
		name, flag, service string
		upstream, path      string // for a service that dies mid-request
	}{
		{"Fulcio refuses", "--fulcio-url", "fulcio", "", ""},
		{"Fulcio dies mid-request", "--fulcio-url", "fulcio", b.Getenv("HALLMARK_TEST_FULCIO_URL"), "/api/v1/signingCert"},
		{"TSA refuses", "--timestamp-server-url", "timestamp authority", "", ""},
		{"TSA dies mid-request", "--timestamp-server-url", "timestamp authority", strings.TrimSuffix(b.Getenv("HALLMARK_TEST_TSA_URL"), "/api/v1/timestamp"), "/api/v1/timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, hold := "http://"+testutil.ClosedAddr(t), match(nil)
			var p *faultproxy.Proxy
			stop := func() {}
			if tt.upstream != "" {
				hold = func(method, path, _ string) bool { return method == http.MethodPost && path == tt.path }
				var addr string
				p, addr, stop = testutil.FaultProxy(t, tt.upstream, faultproxy.Options{Delay: hold.hold(time.Minute)})
				url = "http://" + addr
			}
			if tt.service == "timestamp authority" {
				url += "/api/v1/timestamp"
			}
			reg := b.PlainRegistry()
			ctxDir, df := buildContext(t, b)
			env, tok := keylessGitLabEnv(t, b, reg, nil)
			args := append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", reg, "--context", ctxDir, "-f", df,
				"--progress", "quiet"}, sign...)
			h := startHallmark(t, envList(env), append(args, tt.flag, url)...)
			if p != nil {
				waitFor(t, time.Minute, "the held request", func() bool { return held(p, hold) || h.exited() })
				stop()
			}
			r := h.wait(t, 2*time.Minute)
			t.Logf("%s: exit %d: %s", tt.name, r.Code, lastLine(r.Stderr))
			assertOneLineError(t, r, exitSign, tt.service, strings.TrimPrefix(url, "http://"))
			if containsAny(r.Stdout+r.Stderr, tok) != "" {
				t.Error("the OIDC token appears in the output")
			}
			assertNothingSigned(t, env["CI_REGISTRY_IMAGE"])
			if tt.service == "fulcio" {
				assertNotPushed(t, env["CI_REGISTRY_IMAGE"]+":"+env["CI_COMMIT_SHORT_SHA"])
			}
		})
	}
}
