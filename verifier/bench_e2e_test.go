package verifier_test

// TestE2EBenchAgainstCosign compares `hallmark sign` + `hallmark verify`
// with `cosign sign` + `cosign verify` (keyed, legacy layout, no tlog) on
// the bed's registry without the referrers API: wall time and peak RSS
// (/usr/bin/time), and registry requests (through a counting proxy).
// Runs alternate between the tools, each on a fresh digest. Opt-in:
// HALLMARK_BENCH=N runs N rounds.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hallmark-dev/hallmark/signer/signertest"
)

type sample struct {
	seconds  float64
	maxRSSKB int
	requests int
}

func TestE2EBenchAgainstCosign(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("HALLMARK_BENCH"))
	if rounds <= 0 {
		t.Skip("set HALLMARK_BENCH=N to run N rounds")
	}
	bed := signertest.RequireBed(t)
	bed.RequireCosign(t)
	proxy := newCountingProxy(t, bed.Registries[0].Host)
	addr := proxy.addr
	reg := &signertest.Registry{Host: addr}
	hallmark := filepath.Join(t.TempDir(), "hallmark")
	if out, err := exec.Command("go", "build", "-o", hallmark, "github.com/hallmark-dev/hallmark").CombinedOutput(); err != nil {
		t.Fatalf("building hallmark: %v\n%s", err, out)
	}
	kp := signertest.Keys(t, "bench")
	env := append(os.Environ(), "COSIGN_PASSWORD="+string(kp.Password), "TUF_ROOT="+t.TempDir(), "COSIGN_YES=true")
	tools := map[string][2]func(img string) []string{
		"hallmark": {
			func(img string) []string {
				return []string{hallmark, "sign", "--key", kp.Private, "--tlog-upload=false", "--no-ci-annotations", "-a", "tag=bench", "--insecure-registry", addr, img}
			},
			func(img string) []string {
				return []string{hallmark, "verify", "--key", kp.Public, "--insecure-ignore-tlog", "-a", "tag=bench", "--insecure-registry", addr, img}
			},
		},
		"cosign": {
			func(img string) []string {
				return append([]string{bed.Cosign, "sign", "--key", kp.Private, "--tlog-upload=false", "-a", "tag=bench", img}, cosignRegistryFlags...)
			},
			func(img string) []string {
				return append([]string{bed.Cosign, "verify", "--key", kp.Public, "--insecure-ignore-tlog", "-a", "tag=bench", img}, cosignRegistryFlags...)
			},
		},
	}
	results := map[string][]sample{}
	order := []string{"hallmark", "cosign"}
	for i := range rounds {
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, tool := range order {
			img := reg.Image(t, "hallmark-bench/app").String()
			for step, argv := range tools[tool] {
				proxy.n.Store(0)
				s := timed(t, env, argv(img))
				s.requests = int(proxy.n.Load())
				results[fmt.Sprintf("%s %s", tool, []string{"sign", "verify"}[step])] =
					append(results[fmt.Sprintf("%s %s", tool, []string{"sign", "verify"}[step])], s)
			}
		}
	}
	for _, k := range []string{"hallmark sign", "cosign sign", "hallmark verify", "cosign verify"} {
		t.Logf("%-16s %s", k, summarize(results[k]))
	}
}

// timed runs argv under /usr/bin/time and returns wall time and peak RSS.
func timed(t *testing.T, env, argv []string) sample {
	t.Helper()
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "BENCH %e %M"}, argv...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	var s sample
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "BENCH ") {
			if _, err := fmt.Sscanf(line, "BENCH %f %d", &s.seconds, &s.maxRSSKB); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

func summarize(ss []sample) string {
	if len(ss) == 0 {
		return "-"
	}
	secs := make([]float64, len(ss))
	rss := make([]int, len(ss))
	for i, s := range ss {
		secs[i], rss[i] = s.seconds, s.maxRSSKB
	}
	sort.Float64s(secs)
	sort.Ints(rss)
	return fmt.Sprintf("n=%d time median %.2fs (min %.2f, max %.2f), peak RSS median %d MiB (max %d), registry requests %d",
		len(ss), secs[len(secs)/2], secs[0], secs[len(secs)-1], rss[len(rss)/2]/1024, rss[len(rss)-1]/1024, ss[len(ss)-1].requests)
}

// countingProxy forwards to a registry keeping the client's Host header, so
// the registry's upload Locations point back through it, and counts requests.
type countingProxy struct {
	addr string
	n    atomic.Int64
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.n.Add(1)
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	p.addr = l.Addr().String()
	return p
}
