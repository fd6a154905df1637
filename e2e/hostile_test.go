package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// hostileBudget is what a hostile-registry case may cost the hallmark
// process: issue 15 asks for under 30 s and under 200 MiB RSS.
const (
	hostileTime   = 30 * time.Second
	hostileMaxRSS = 200 << 20
)

// hostileRegistry serves one real image (so that the command gets as far
// as its signatures) and answers everything else with behave.
func hostileRegistry(t *testing.T, behave http.HandlerFunc) (host, ref string, requests *atomic.Int64) {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/v2/":
			return
		case "/v2/app/manifests/" + d.String():
			w.Header().Set("Content-Type", string(mt))
			w.Header().Set("Docker-Content-Digest", d.String())
			w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
			if r.Method == http.MethodGet {
				w.Write(raw)
			}
			return
		}
		behave(w, r)
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	return host, host + "/app@" + d.String(), &n
}

// endless writes zeros until the client goes away.
func endless(w http.ResponseWriter) {
	chunk := make([]byte, 64<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// runBounded runs hallmark and returns its result, wall time and peak RSS.
// The peak is the process's own VmHWM, sampled from /proc while it runs:
// getrusage's maxrss of a child also counts the memory of the test process
// that started it (Linux carries the parent's high-water mark over exec).
func runBounded(t *testing.T, env []string, args ...string) (result, time.Duration, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hallmarkBin, args...)
	cmd.Env = e2etest.CleanEnv(env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("running hallmark: %v", err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if hwm := vmHWM(cmd.Process.Pid); hwm > max {
				max = hwm
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	rss := <-peak
	d := time.Since(start)
	r := result{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running hallmark: %v", err)
	}
	if rss == 0 {
		t.Fatalf("no memory sample of hallmark (pid %d) was taken", cmd.Process.Pid)
	}
	return r, d, rss
}

// vmHWM is the peak resident set size of process pid in bytes (0 when it
// cannot be read, e.g. the process has exited).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestHostileRegistries runs sign and verify against registries that
// redirect without end, ping-pong redirects, send endless manifests, or
// declare (and send) a 4 GiB signature config blob: each run must fail
// with one error line naming the problem, in under 30 s and 200 MiB RSS.
// No test bed needed: the registries are in-test servers on loopback.
func TestHostileRegistries(t *testing.T) {
	kp := signertest.Keys(t, "hostile")
	var seq atomic.Int64
	cases := []struct {
		name   string
		behave http.HandlerFunc
		says   string
		// legacyOnly: only reading the .sig image meets the hostile blob;
		// a bundle signer, which never reads it, just fails on this
		// registry's 404s.
		legacyOnly bool
	}{
		{"redirect-ever-new", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, fmt.Sprintf("/v2/app/manifests/r%d", seq.Add(1)), http.StatusTemporaryRedirect)
		}, "redirects", false},
		{"redirect-ping-pong", func(w http.ResponseWriter, r *http.Request) {
			to := "/v2/app/manifests/ping"
			if strings.HasSuffix(r.URL.Path, "/ping") {
				to = "/v2/app/manifests/pong"
			}
			http.Redirect(w, r, to, http.StatusTemporaryRedirect)
		}, "redirects", false},
		{"endless-manifest", func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Length", "100")
				return
			}
			w.Write([]byte(`{"schemaVersion":2,"layers":[`))
			endless(w)
		}, "limit of 4 MiB", false},
		{"4GiB-config", func(w http.ResponseWriter, r *http.Request) {
			const cfg = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
			const layer = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
			switch {
			case strings.HasSuffix(r.URL.Path, ".sig"):
				m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
					`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":4294967296},`+
					`"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":%q,"size":104857600,`+
					`"annotations":{"dev.cosignproject.cosign/signature":"MEUC"}}]}`, cfg, layer)
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", fmt.Sprint(len(m)))
				if r.Method == http.MethodGet {
					w.Write([]byte(m))
				}
			case strings.Contains(r.URL.Path, "/blobs/uploads/"):
				w.Header().Set("Location", "/v2/app/blobs/uploads/1")
				w.Header().Set("Range", "0-0")
				switch r.Method {
				case http.MethodPost, http.MethodPatch:
					w.WriteHeader(http.StatusAccepted)
				default:
					w.WriteHeader(http.StatusCreated)
				}
			case strings.HasSuffix(r.URL.Path, cfg) || strings.HasSuffix(r.URL.Path, layer):
				w.Header().Set("Content-Length", "4294967296")
				if r.Method == http.MethodGet {
					endless(w)
				}
			default:
				http.NotFound(w, r)
			}
		}, "limit of 8 MiB", true}, // the signature layer (100 MiB declared) or config (4 GiB)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			host, ref, reqs := hostileRegistry(t, c.behave)
			for _, args := range [][]string{
				{"verify", "--insecure-registry", host, "--key", kp.Public, "--insecure-ignore-tlog", ref},
				// The bundle format (the default) reads the referrers listing,
				// the simple-signing one the .sig image with its blobs.
				{"sign", "--insecure-registry", host, "--key", kp.Private, "--tlog-upload=false", ref},
				{"sign", "--insecure-registry", host, "--key", kp.Private, "--tlog-upload=false", "--new-bundle-format=false", ref},
			} {
				r, d, rss := runBounded(t, []string{"COSIGN_PASSWORD=" + string(kp.Password)}, args...)
				t.Logf("%s: exit %d in %v, peak RSS %d MiB, %d requests: %s", args[0], r.Code, d.Round(time.Millisecond), rss>>20, reqs.Load(), strings.TrimSpace(r.Stderr))
				if r.Code == 0 {
					t.Errorf("%s succeeded against a hostile registry", args[0])
				}
				bundleSign := args[0] == "sign" && !slices.Contains(args, "--new-bundle-format=false")
				if !strings.Contains(r.Stderr, c.says) && !(c.legacyOnly && bundleSign) {
					t.Errorf("%s: the error does not say %q", args[0], c.says)
				}
				if d > hostileTime || rss > hostileMaxRSS {
					t.Errorf("%s took %v and %d MiB, want under %v and %d MiB", args[0], d, rss>>20, hostileTime, hostileMaxRSS>>20)
				}
			}
		})
	}
}

// TestEndlessFiles: /dev/zero as --key (sign, verify) or --trusted-root
// fails at once with the limit named, within the hostile-case budget.
func TestEndlessFiles(t *testing.T) {
	host, ref, _ := hostileRegistry(t, http.NotFound)
	for _, args := range [][]string{
		{"verify", "--insecure-registry", host, "--key", "/dev/zero", "--insecure-ignore-tlog", ref},
		{"verify", "--insecure-registry", host, "--trusted-root", "/dev/zero", "--certificate-identity", "me", "--certificate-oidc-issuer", "https://issuer", ref},
		{"sign", "--insecure-registry", host, "--key", "/dev/zero", "--tlog-upload=false", ref},
	} {
		r, d, rss := runBounded(t, []string{"COSIGN_PASSWORD=x"}, args...)
		t.Logf("%v: exit %d in %v, peak RSS %d MiB: %s", args, r.Code, d.Round(time.Millisecond), rss>>20, strings.TrimSpace(r.Stderr))
		if r.Code == 0 || !strings.Contains(r.Stderr, "limit of 4 MiB") {
			t.Errorf("%v: exit %d, want the 4 MiB limit named", args, r.Code)
		}
		if d > hostileTime || rss > hostileMaxRSS {
			t.Errorf("%v took %v and %d MiB", args, d, rss>>20)
		}
	}
}
