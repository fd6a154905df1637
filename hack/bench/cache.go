package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cacheSteps are the outputs of Dockerfile.cache's expensive steps, which
// a build's plain progress shows only when the step ran.
var cacheSteps = []string{"ran-deps", "ran-compile"}

// cacheCase is the cache group's release case: hallmark with its default
// registry cache (what the group measures), but --provenance=false: the
// CLI jobs attest none, and with hallmark's default each release would
// also make, push, sign and attest an attestation manifest the other
// sides do not.
func cacheCase() releaseCase {
	return releaseCase{keyless: true, mode: "bundle", file: "Dockerfile.cache", rev: "hallmark", progress: "plain", noProvenance: true}
}

// cacheCases compares the next pipeline of a multi-stage project
// (testdata/bench/Dockerfile.cache: a dependency step and a compile step of
// ~3 s each, a new revision changing only a late cheap step), each run on a
// fresh buildkitd (new state directory) as on an ephemeral CI runner:
// `hallmark release` in a GitLab job with its default registry cache
// (IMAGE/buildcache:default) against the tutorial's job without a cache
// (buildctl build --push, the digest look-up, cosign v3.1.3 sign and
// verify) and against the same job with hand-written buildctl
// --import-cache/--export-cache flags (the same ref, mode=max). Keyless,
// Sigstore bundles, no transparency log, no provenance (cacheCase). The warm-up run fills each side's
// cache; every timed run is a second pipeline. The bench checks in the plain
// progress that the expensive steps were cached on the cached sides and ran
// on the tutorial's.
func (s *suite) cacheCases(ctx context.Context) ([]*comparison, error) {
	dir := filepath.Join(s.b.dir, "cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := cacheCase()
	hRepo, tRepo, mRepo := s.reg+"/bench/cache-hallmark", s.reg+"/bench/cache-tutorial", s.reg+"/bench/cache-buildctl"
	tutorial := &comparison{name: "next pipeline on a fresh buildkitd, hallmark (default cache) vs the tutorial's job (no cache)",
		a: "hallmark release", b: "tutorial's job", target: 0.3}
	manual := &comparison{name: "next pipeline on a fresh buildkitd, hallmark (default cache) vs buildctl with --import-cache/--export-cache",
		a: "hallmark release", b: "buildctl job with cache flags", target: 1}
	// onFresh runs side on a buildkitd started for it, stopped after.
	onFresh := func(side func(c releaseCase) (sample, error)) (sample, error) {
		n, err := s.startNode(ctx, dir, nodeSpec{name: "fresh"})
		if err != nil {
			return sample{}, err
		}
		c := base
		c.conn, c.addr = []string{"--addr", n.addr}, n.addr
		smp, err := side(c)
		return smp, errors.Join(err, n.stop())
	}
	fmt.Fprintf(os.Stderr, "bench: cache: next pipeline on a fresh buildkitd, 3 sides (%d runs)\n", s.n)
	for i := -1; i < s.n; i++ {
		r, err := s.newRun(ctx, true)
		if err != nil {
			return nil, err
		}
		warmup := i < 0
		sides := []func() error{
			func() error {
				smp, err := onFresh(func(c releaseCase) (sample, error) {
					smp, _, err := s.hallmarkRelease(ctx, c, r, hRepo)
					return smp, err
				})
				if err == nil && !warmup {
					err = checkSteps("hallmark release", smp, false)
				}
				if !warmup {
					tutorial.as = append(tutorial.as, smp)
					manual.as = append(manual.as, smp)
				}
				return err
			},
			func() error {
				smp, err := onFresh(func(c releaseCase) (sample, error) {
					c.rev = "tutorial"
					return s.cliJob(ctx, c, r, tRepo)
				})
				if err == nil {
					err = checkSteps("the tutorial's job", smp, true)
				}
				if !warmup {
					tutorial.bs = append(tutorial.bs, smp)
				}
				return err
			},
			func() error {
				smp, err := onFresh(func(c releaseCase) (sample, error) {
					c.cache, c.rev = mRepo+"/buildcache:default", "buildctl"
					return s.cliJob(ctx, c, r, mRepo)
				})
				if err == nil && !warmup {
					err = checkSteps("buildctl with cache flags", smp, false)
				}
				if !warmup {
					manual.bs = append(manual.bs, smp)
				}
				return err
			},
		}
		if err := alternate(i, sides); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return []*comparison{tutorial, manual}, nil
}

// checkSteps checks that the run's build ran (ran) or took from the cache
// (!ran) every expensive step, from its plain progress.
func checkSteps(side string, smp sample, ran bool) error {
	if len(smp.procs) == 0 {
		return fmt.Errorf("%s: no process", side)
	}
	progress := smp.procs[0].stderr
	for _, step := range cacheSteps {
		if got := strings.Contains(progress, step); got != ran {
			return fmt.Errorf("%s on a fresh buildkitd: step %s ran: %v, want %v\n%s", side, strings.TrimPrefix(step, "ran-"), got, ran, tail(progress, 60))
		}
	}
	return nil
}
