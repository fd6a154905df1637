// Command bench measures hallmark against the CLI pipeline it replaces, on
// the test bed (hack/testbed.sh), and writes docs/benchmarks.md. Run it
// through hack/bench.sh, which brings the bed up and builds the binaries:
//
//	hack/bench.sh [-n 9] [-cases release,sign,scale,pool,cache] [-v]
//
// It compares, alternating the sides over -n runs: `hallmark release`
// with the CLI job (buildctl build --push, a digest look-up, cosign sign,
// cosign verify), keyless and keyed, legacy and oci-1-1 (against cosign
// 2.6.5), warm and cold build cache, and Sigstore bundles (against cosign
// v3.1.3) without and with the transparency log (Rekor v2); `hallmark
// sign` + `hallmark verify` with cosign's on an existing digest, in the
// same formats; and how hallmark's time grows with the number of
// signatures (an 8-platform recursive release, 20 digests in one sign);
// and, not run by default, a release over a pool of buildkitd (4 nodes
// against 1, and against buildx v0.36.1 + cosign, pool.go) and the next
// pipeline on a fresh buildkitd with hallmark's default registry cache
// (cache.go), on buildkitd the bench starts for itself (nodes.go).
// A run rewrites the sections of the groups it ran and keeps the others.
// Registry requests are counted per stage by internal/faultproxy in front
// of the registry, and the transparency log's requests by another in front
// of Rekor; peak memory is each process's max RSS from wait4.
package main

import (
	"context"
	"debug/buildinfo"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench: error:", err)
		os.Exit(1)
	}
}

type config struct {
	n                int
	digests          int
	out, command     string
	hallmark, digest string
	rusage           string
	buildx           string
	cases            string
	registry         string
	verbose          bool
	timeout          time.Duration
	fast             bool
	match            string
	rtts             []time.Duration
	poolRTTs         []time.Duration
}

// parseDurations parses flag's comma-separated durations.
func parseDurations(flag, list string) ([]time.Duration, error) {
	var out []time.Duration
	for _, v := range strings.Split(list, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func bench(ctx context.Context) error {
	var cfg config
	flag.IntVar(&cfg.n, "n", 9, "timed runs per side and case (after one untimed warm-up run)")
	flag.IntVar(&cfg.digests, "digests", 20, "digests signed in one invocation in the scale case")
	rtts := flag.String("scale-rtt", "0,20ms", "run the scale cases with each of these delays added to every registry request")
	poolRTTs := flag.String("pool-rtt", "0,20ms", "run the pool cases with each of these delays added to every registry request")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks.md", "markdown file to (re)write; empty: print to stdout")
	flag.StringVar(&cfg.command, "command", "hack/bench.sh", "the command recorded in the report")
	flag.StringVar(&cfg.hallmark, "hallmark", "", "hallmark binary to measure (required)")
	flag.StringVar(&cfg.digest, "digest", "", "digest look-up helper binary, built from hack/bench/digest (required)")
	flag.StringVar(&cfg.rusage, "rusage", "", "process usage helper binary, built from hack/bench/rusage (required)")
	flag.StringVar(&cfg.buildx, "buildx", "", "buildx v0.36.1 binary for the pool group (default: built or found by hack/testbed.sh tool buildx)")
	flag.StringVar(&cfg.cases, "cases", "release,sign,scale", "comma-separated groups to run: release, sign, scale, pool, cache")
	flag.StringVar(&cfg.registry, "registry", "plain", "registry behind the proxy: plain (distribution 2.8) or referrers (ggcr)")
	flag.BoolVar(&cfg.verbose, "v", false, "print every process and registry request on stderr")
	flag.BoolVar(&cfg.fast, "quick", false, "only the first case of the release and sign groups (for debugging)")
	flag.StringVar(&cfg.match, "match", "", "only the release and sign cases whose name contains this (for debugging)")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "limit for one process")
	flag.Parse()
	var err error
	if cfg.rtts, err = parseDurations("-scale-rtt", *rtts); err != nil {
		return err
	}
	if cfg.poolRTTs, err = parseDurations("-pool-rtt", *poolRTTs); err != nil {
		return err
	}
	if cfg.hallmark == "" || cfg.digest == "" || cfg.rusage == "" {
		return fmt.Errorf("-hallmark, -digest and -rusage are required (hack/bench.sh builds them)")
	}
	dir, err := os.MkdirTemp("", "hallmark-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := loadBed(cfg.hallmark, cfg.digest, dir)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	s := &suite{b: b, n: cfg.n, r: &runner{tr: newTracker(), rusage: cfg.rusage, verbose: cfg.verbose, timeout: cfg.timeout, logs: new(logCounter)}}
	s.r.tr.keepLogs = cfg.verbose
	if s.ctxDir, err = b.buildContext(root); err != nil {
		return err
	}
	upstream := b.plain
	if cfg.registry == "referrers" {
		upstream = b.referrers
	}
	proxy, err := startProxy(upstream, s.r.tr, &s.rtt)
	if err != nil {
		return err
	}
	defer proxy.stop()
	s.reg = proxy.addr
	logProxy, err := startLogProxy(b.rekor, s.r.logs)
	if err != nil {
		return err
	}
	defer logProxy.stop()
	s.rekor = "http://" + logProxy.addr
	if s.signingConfig, err = b.proxiedSigningConfig(s.rekor); err != nil {
		return err
	}

	groups := strings.Split(cfg.cases, ",")
	for _, g := range groups {
		if !slices.Contains([]string{"release", "sign", "scale", "pool", "cache"}, g) {
			return fmt.Errorf("-cases: unknown group %q (want release, sign, scale, pool, cache)", g)
		}
	}
	if slices.Contains(groups, "pool") {
		if b.buildx, err = findBuildx(ctx, cfg.buildx); err != nil {
			return err
		}
	}
	rep := &report{m: describe(ctx, b), command: cfg.command, n: cfg.n, started: time.Now(), runs: map[string]groupRun{}}
	if cfg.registry == "referrers" {
		rep.m.tools[len(rep.m.tools)-1] = "registry: go-containerregistry's (referrers API)"
	}
	if err := rep.runGroups(ctx, s, cfg, groups); err != nil {
		return err
	}
	if rep.offLoopback = b.guard.attempts.Load(); rep.offLoopback > 0 {
		fmt.Fprintf(os.Stderr, "bench: warning: %d attempts to reach a host other than 127.0.0.1\n", rep.offLoopback)
	}
	return write(cfg.out, rep)
}

// runGroups runs the groups asked for, in the file's order, recording
// when each ran and under what load.
func (rep *report) runGroups(ctx context.Context, s *suite, cfg config, groups []string) error {
	match := func(name string) bool { return !strings.Contains(name, cfg.match) }
	all := []struct {
		name string
		run  func() error
	}{
		{"release", func() (err error) {
			cases := slices.DeleteFunc(releaseMatrix(), func(c releaseCase) bool { return match(c.String()) })
			if cfg.fast {
				cases = cases[:1]
			}
			rep.release, err = s.releaseCases(ctx, cases)
			return err
		}},
		{"sign", func() (err error) {
			cases := []signCase{{false, "legacy"}, {true, "legacy"}, {false, "oci-1-1"}, {true, "oci-1-1"}, {false, "bundle"}, {true, "bundle"}}
			cases = slices.DeleteFunc(cases, func(c signCase) bool { return match(c.String()) })
			if cfg.fast {
				cases = cases[:1]
			}
			rep.signs, err = s.signVerifyCases(ctx, cases)
			return err
		}},
		{"scale", func() error {
			for _, rtt := range cfg.rtts {
				c, err := s.scaleCases(ctx, cfg.digests, rtt)
				if err != nil {
					return err
				}
				rep.scaling = append(rep.scaling, c...)
			}
			return nil
		}},
		{"pool", func() (err error) {
			rep.pool, err = s.poolCases(ctx, cfg.poolRTTs)
			return err
		}},
		{"cache", func() (err error) {
			rep.cache, err = s.cacheCases(ctx)
			return err
		}},
	}
	for _, g := range all {
		if !slices.Contains(groups, g.name) {
			continue
		}
		r := groupRun{started: time.Now(), loadStart: loadavg()}
		if err := g.run(); err != nil {
			return err
		}
		r.elapsed, r.loadEnd = time.Since(r.started), loadavg()
		rep.runs[g.name] = r
	}
	return nil
}

// findBuildx returns the buildx binary: the flag's, or the one hack/testbed.sh
// tool buildx builds into the tools cache (minutes the first time).
func findBuildx(ctx context.Context, path string) (string, error) {
	if path == "" {
		cmd := exec.CommandContext(ctx, "hack/testbed.sh", "tool", "buildx")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("hack/testbed.sh tool buildx: %w", err)
		}
		path = strings.TrimSpace(string(out))
	}
	if v := buildxVersion(path); v != "v0.36.1" {
		return "", fmt.Errorf("buildx %s is %q, want v0.36.1 (hack/tools/buildx)", path, v)
	}
	return path, nil
}

// buildxVersion is the buildx module version a buildx binary was built
// from (built outside buildx's Makefile, it reports v0.0.0+unknown).
func buildxVersion(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, d := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if d.Path == "github.com/docker/buildx" {
			return d.Version
		}
	}
	return "unknown"
}

// releaseMatrix is every release case: keyless and keyed, legacy and
// oci-1-1 (simple signing, cosign 2.6.5), warm and cold; then bundles
// (cosign v3.1.3), warm, without and with the transparency log. The CLI
// job has no cache: hallmark runs with --ci-cache=false (noCICache); nor
// does it attest provenance: bundle cases run with --provenance=false
// (noProvenance), but for one last case with hallmark's default.
func releaseMatrix() []releaseCase {
	var out []releaseCase
	for _, keyless := range []bool{true, false} {
		for _, mode := range []string{"legacy", "oci-1-1"} {
			for _, cold := range []bool{false, true} {
				out = append(out, releaseCase{keyless: keyless, mode: mode, cold: cold, noCICache: true})
			}
		}
	}
	for _, keyless := range []bool{true, false} {
		for _, tlog := range []bool{false, true} {
			out = append(out, releaseCase{keyless: keyless, mode: "bundle", tlog: tlog, noCICache: true, noProvenance: true})
		}
	}
	// The default: BuildKit's provenance attested and signed, which the
	// CLI job does not do; measured to show its cost.
	return append(out, releaseCase{keyless: true, mode: "bundle", tlog: true, noCICache: true})
}

// write replaces the generated part of out, keeping the notes after the
// marker.
func write(out string, rep *report) error {
	if out == "" {
		_, err := fmt.Print(rep.markdown())
		return err
	}
	if old, err := os.ReadFile(out); err == nil {
		generated, notes, ok := strings.Cut(string(old), notesMarker+"\n")
		if ok {
			rep.notes = notes
		}
		rep.old = oldSections(generated)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", out)
	return nil
}
