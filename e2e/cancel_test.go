package e2e

import (
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/verifier"
)

// promptly bounds how long hallmark may take to exit after a signal.
const promptly = 10 * time.Second

var signals = map[os.Signal]struct {
	code int
	name string
}{
	syscall.SIGINT:  {130, "SIGINT"},
	syscall.SIGTERM: {143, "SIGTERM"},
}

// TestCancelDuringBuild sends SIGINT or SIGTERM to hallmark release while
// the build's RUN step sleeps on the bed's buildkitd: hallmark exits 130 or
// 143 promptly with one error line, the solve is cancelled (the sleeping
// process is gone), nothing is pushed or signed.
func TestCancelDuringBuild(t *testing.T) {
	b := bed(t)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		want := signals[sig]
		t.Run(want.name, func(t *testing.T) {
			t.Parallel()
			ctxDir, marker := sleepContext(t, b)
			reg := b.PlainRegistry()
			repo := uniqueRepo(t, reg)
			args, env := keyedRelease(t, b.BuildkitUnix(), reg, ctxDir, repo)
			h := startHallmark(t, env, args...)
			waitFor(t, time.Minute, "the build's RUN step", func() bool { return len(processesWith(marker)) > 0 || h.exited() })
			if h.exited() {
				t.Fatalf("release ended before its RUN step ran:\n%s", h.res)
			}
			sent := time.Now()
			if err := h.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			r := h.wait(t, time.Minute)
			took := time.Since(sent)
			waitFor(t, 20*time.Second, "buildkitd to stop the cancelled RUN step", func() bool { return len(processesWith(marker)) == 0 })
			t.Logf("%s during the build: exit %d after %v, RUN step gone %v after the signal", want.name, r.Code, took.Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))
			assertOneLineError(t, r, want.code, "("+want.name+")")
			if took > promptly {
				t.Errorf("hallmark took %v to exit after %s", took, want.name)
			}
			if r.Stdout != "" {
				t.Errorf("stdout must be empty when interrupted, got %q", r.Stdout)
			}
			ref, err := name.ParseReference(repo+":v1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remoteHead(ref); err == nil {
				t.Errorf("an interrupted build pushed %s", ref)
			}
			assertNothingSigned(t, repo)
		})
	}
}

// TestCancelDuringSign sends SIGINT or SIGTERM to hallmark release while a
// proxy holds one of its signing requests: the signature manifest's write,
// the fallback index's write after the legacy signature is complete (mode
// both), or Fulcio's certificate request. hallmark exits 130 or 143
// promptly with one error line and leaves no partial signature: none, or
// only complete ones that verify.
func TestCancelDuringSign(t *testing.T) {
	b := bed(t)
	tests := []struct {
		name   string
		sig    os.Signal
		proxy  string // "registry" or "fulcio"
		mode   string
		hold   match
		layout verifier.Layout // what may be complete: "" for nothing
	}{
		{"signature manifest write/SIGINT", syscall.SIGINT, "registry", "legacy", func(m, p, ua string) bool {
			return m == http.MethodPut && strings.HasSuffix(p, ".sig") && strings.HasPrefix(ua, "hallmark")
		}, ""},
		{"fallback index write/SIGTERM", syscall.SIGTERM, "registry", "both", func(m, p, ua string) bool {
			return m == http.MethodPut && strings.Contains(p, "/manifests/sha256-") && !strings.HasSuffix(p, ".sig") && strings.HasPrefix(ua, "hallmark")
		}, verifier.LayoutLegacy},
		{"Fulcio certificate request/SIGTERM", syscall.SIGTERM, "fulcio", "legacy", func(m, p, _ string) bool {
			return m == http.MethodPost && p == "/api/v1/signingCert"
		}, ""},
		{"Fulcio certificate request/SIGINT", syscall.SIGINT, "fulcio", "oci-1-1", func(m, p, _ string) bool {
			return m == http.MethodPost && p == "/api/v1/signingCert"
		}, ""},
		// The bundle referrer is stored but listed nowhere yet: nothing is signed.
		{"bundle fallback index write/SIGINT", syscall.SIGINT, "registry", "bundle", func(m, p, ua string) bool {
			return m == http.MethodPut && strings.Contains(p, "/manifests/sha256-") && strings.HasPrefix(ua, "hallmark")
		}, ""},
	}
	for _, tt := range tests {
		want := signals[tt.sig]
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := b.PlainRegistry()
			upstream := "http://" + reg
			if tt.proxy == "fulcio" {
				upstream = b.Getenv("HALLMARK_TEST_FULCIO_URL")
			}
			p, addr, stop := testutil.FaultProxy(t, upstream, faultproxy.Options{Delay: tt.hold.hold(time.Minute)})
			imageReg, fulcio := reg, b.Getenv("HALLMARK_TEST_FULCIO_URL")
			if tt.proxy == "registry" {
				imageReg = addr
			} else {
				fulcio = "http://" + addr
			}
			ctxDir, df := buildContext(t, b)
			env, _ := keylessGitLabEnv(t, b, reg, nil)
			repoPath := strings.TrimPrefix(env["CI_REGISTRY_IMAGE"], reg+"/")
			// The default path: bundles in Rekor v2, simple signatures
			// TSA-only (defaultPathSign); the SCT is checked.
			sign, trust := defaultPathSign(t, b, tt.mode)
			args := append(append([]string{"release", "--addr", b.BuildkitUnix(), "--insecure-registry", imageReg, "--context", ctxDir, "-f", df,
				"--progress", "quiet", "--image", imageReg + "/" + repoPath}, append(storageArgs(tt.mode), sign...)...), trust...)
			h := startHallmark(t, envList(env), append(args, "--fulcio-url", fulcio)...)
			waitFor(t, time.Minute, "the held request", func() bool { return held(p, tt.hold) || h.exited() })
			if h.exited() {
				t.Fatalf("release ended before the request was held:\n%s", h.res)
			}
			sent := time.Now()
			if err := h.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			r := h.wait(t, time.Minute)
			took := time.Since(sent)
			t.Logf("%s: exit %d after %v: %s", tt.name, r.Code, took.Round(time.Millisecond), lastLine(r.Stderr))
			assertOneLineError(t, r, want.code, "("+want.name+")")
			if took > promptly {
				t.Errorf("hallmark took %v to exit after %s", took, want.name)
			}
			stop()
			repo := reg + "/" + repoPath
			if tt.layout == "" {
				assertNothingSigned(t, repo)
				return
			}
			// Only complete signatures, each verifying, in the layout
			// written before the signal. The release tags last: the
			// interrupted one left no tag, so the digest is the one its
			// signature tag names.
			tag, err := name.ParseReference(repo+":"+env["CI_COMMIT_SHORT_SHA"], name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remoteHead(tag); err == nil {
				t.Errorf("the interrupted release tagged %s", tag)
			}
			var digest string
			for _, st := range signatureTags(t, repo) {
				if hex, ok := strings.CutSuffix(strings.TrimPrefix(st, "sha256-"), ".sig"); ok {
					digest = "sha256:" + hex
				}
			}
			if digest == "" {
				t.Fatalf("no signature tag in %s: want the %s signature written before the signal", repo, tt.layout)
			}
			d, _ := name.NewDigest(repo+"@"+digest, name.Insecure)
			res, err := verifier.Verify(t.Context(), d, verifier.Options{
				RemoteOptions: plainOptions(t.Context()),
				Policy:        verifier.Policy{Identity: env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main", Issuer: b.Issuer()},
				// A simple signature: TSA only, no log entry (defaultPathSign).
				Trust: verifier.Trust{TrustedRoot: b.SigstoreTrustedRoot(), IgnoreTlog: true},
			})
			if err != nil {
				t.Fatalf("the signature written before the signal does not verify: %v", err)
			}
			if len(res.Failures) != 0 || res.Layouts()[tt.layout] != 1 || len(res.Verified) != 1 {
				t.Errorf("after the signal: verified %v, failures %v; want one complete %s signature", res.Layouts(), res.Failures, tt.layout)
			}
		})
	}
}
