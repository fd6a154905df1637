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
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
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
	proxy, err := faultproxy.New("http://"+bed.Registries[0].Host, faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := proxy.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
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
				proxy.Reset()
				s := timed(t, env, argv(img))
				s.requests = len(proxy.Requests())
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
