package main

import (
	"slices"
	"strings"
	"testing"
)

// TestReleaseGroupLikeForLike: the release group's CLI job has no cache,
// so every release case runs hallmark with --ci-cache=false — in the
// GitLab job's environment its default registry cache would add work to
// hallmark's side only; and the CLI job attests no provenance, so bundle
// cases run with --provenance=false but for one that measures the default.
func TestReleaseGroupLikeForLike(t *testing.T) {
	s := &suite{b: &bed{}}
	provenance := 0
	for _, c := range releaseMatrix() {
		if strings.HasSuffix(c.String(), "+provenance") {
			provenance++
		}
		t.Run(c.String(), func(t *testing.T) {
			if c.cache != "" {
				t.Fatalf("the CLI job imports and exports cache %s: the group compares against a job without cache", c.cache)
			}
			argv, _ := s.hallmarkArgv(c, &run{tag: "t"}, "reg/repo")
			if !slices.Contains(argv, "--ci-cache=false") {
				t.Errorf("hallmark runs with its default registry cache against a CLI job without one: %q", argv)
			}
			// Provenance is on by default in bundle mode; the CLI job
			// makes none, so only the case named for it keeps it.
			marked := strings.HasSuffix(c.String(), "+provenance")
			if off := slices.Contains(argv, "--provenance=false"); c.mode == "bundle" && off == marked {
				t.Errorf("bundle case %q: --provenance=false is %v in %q", c, off, argv)
			}
		})
	}
	if provenance != 1 {
		t.Errorf("%d release cases measure hallmark's default provenance, want 1", provenance)
	}
}

// TestCacheGroupLikeForLike: the cache group measures hallmark's default
// registry cache, so hallmark runs without --ci-cache=false; the CLI jobs
// attest no provenance, so hallmark runs with --provenance=false.
func TestCacheGroupLikeForLike(t *testing.T) {
	s := &suite{b: &bed{}}
	argv, _ := s.hallmarkArgv(cacheCase(), &run{tag: "t"}, "reg/repo")
	if slices.Contains(argv, "--ci-cache=false") {
		t.Errorf("the cache group turns hallmark's default cache off: %q", argv)
	}
	if !slices.Contains(argv, "--provenance=false") {
		t.Errorf("hallmark attests provenance against CLI jobs that attest none: %q", argv)
	}
}
