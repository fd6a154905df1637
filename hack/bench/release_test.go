package main

import (
	"slices"
	"testing"
)

// TestReleaseGroupLikeForLike: the release group's CLI job has no cache,
// so every release case runs hallmark with --ci-cache=false — in the
// GitLab job's environment its default registry cache would add work to
// hallmark's side only.
func TestReleaseGroupLikeForLike(t *testing.T) {
	s := &suite{b: &bed{}}
	for _, c := range releaseMatrix() {
		t.Run(c.String(), func(t *testing.T) {
			if c.cache != "" {
				t.Fatalf("the CLI job imports and exports cache %s: the group compares against a job without cache", c.cache)
			}
			argv, _ := s.hallmarkArgv(c, &run{tag: "t"}, "reg/repo")
			if !slices.Contains(argv, "--ci-cache=false") {
				t.Errorf("hallmark runs with its default registry cache against a CLI job without one: %q", argv)
			}
		})
	}
}
