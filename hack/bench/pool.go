package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// poolPlatforms are the pool case's 4 platforms: no node that claims one of
// them runs another natively (containerd's platforms.Only: an arm64 worker
// would also take linux/arm/v7), so each node of the pool builds exactly
// its own.
var poolPlatforms = []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"}

// poolBuilder is the name of the buildx builder the pool case creates in
// the bench's own DOCKER_CONFIG.
const poolBuilder = "hallmark-bench-pool"

// poolCases compares a 4-platform `hallmark release` on 4 nodes of one
// platform each with the same release on 1 node that claims all 4, and with
// buildx v0.36.1 building on the same 4 nodes (a remote-driver multi-node
// builder) followed by cosign v3.1.3 signing the index and each platform
// (--recursive) and verifying the index. Every node is a buildkitd the
// bench starts with max-parallelism = 1 (one step at a time, standing in
// for a one-CPU builder); the Dockerfile's per-platform steps take about a
// second each. Keyless, Sigstore bundles, no transparency log, no cache
// (--ci-cache=false: buildx has none here either) and no provenance
// (--provenance=false, on by default in a release: buildx's is off here,
// and with it each node would also make, push, sign and attest an
// attestation manifest per platform); the sides alternate. The case runs
// once per delay in rtts, added to every registry request (poolRuns).
func (s *suite) poolCases(ctx context.Context, rtts []time.Duration) (_ []*comparison, err error) {
	dir := filepath.Join(s.b.dir, "pool")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var nodes []*node
	defer func() { err = errors.Join(err, stopNodes(nodes)) }()
	fmt.Fprintf(os.Stderr, "bench: pool: starting 5 buildkitd (max-parallelism 1)\n")
	for i, p := range poolPlatforms {
		n, err := s.startNode(ctx, dir, nodeSpec{name: fmt.Sprintf("pool-%d", i), platforms: []string{p}, parallelism: 1})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	single, err := s.startNode(ctx, dir, nodeSpec{name: "single", platforms: poolPlatforms, parallelism: 1})
	if err != nil {
		return nil, err
	}
	nodes = append(nodes, single)
	builders, err := writeBuilders(dir, nodes[:len(poolPlatforms)])
	if err != nil {
		return nil, err
	}
	if err := s.createBuildxBuilder(ctx, nodes[:len(poolPlatforms)]); err != nil {
		return nil, err
	}

	var out []*comparison
	for _, rtt := range rtts {
		c, err := s.poolRuns(ctx, nodes, builders, rtt)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	return out, nil
}

// poolRuns runs the pool case's three sides s.n times (after a warm-up),
// each registry request held back rtt by the bench's proxy (0: loopback
// as it is; 20ms: a registry across a network, for the nodes' pushes and
// every client alike), and returns the two comparisons.
func (s *suite) poolRuns(ctx context.Context, nodes []*node, builders string, rtt time.Duration) ([]*comparison, error) {
	s.rtt.Store(int64(rtt))
	defer s.rtt.Store(0)
	suffix, repoSuffix := "", ""
	if rtt > 0 {
		suffix, repoSuffix = fmt.Sprintf(" (+%s per registry request)", rtt), "-rtt"
	}
	single := nodes[len(poolPlatforms)]
	base := releaseCase{keyless: true, mode: "bundle", file: "Dockerfile.pool", progress: "plain", noCICache: true, noProvenance: true}
	four, one, bx := base, base, base
	four.rev, one.rev, bx.rev = "hallmark-4", "hallmark-1", "buildx"
	four.conn = []string{"--builders", builders}
	one.conn = []string{"--addr", single.addr}
	platforms := strings.Join(poolPlatforms, ",")
	nodesCmp := &comparison{name: "4-platform release, 4 nodes vs 1 node" + suffix, a: "hallmark release, 4 nodes", b: "hallmark release, 1 node", target: 0.4}
	buildxCmp := &comparison{name: "4-platform release on 4 nodes, hallmark vs buildx + cosign" + suffix, a: "hallmark release, 4 nodes", b: "buildx build + cosign sign --recursive + cosign verify", target: 0.8}
	fmt.Fprintf(os.Stderr, "bench: pool: 4-platform release on 4 nodes, on 1 node, and buildx + cosign%s (%d runs)\n", suffix, s.n)
	for i := -1; i < s.n; i++ {
		r, err := s.newRun(ctx, true)
		if err != nil {
			return nil, err
		}
		sides := []func() error{
			func() error {
				smp, _, err := s.hallmarkRelease(ctx, four, r, s.reg+"/bench/pool-4-nodes"+repoSuffix, "--platform", platforms)
				if err == nil {
					err = errors.Join(checkPlacement(smp.procs[0].stdout, nodes[:len(poolPlatforms)]), checkRan("hallmark, 4 nodes", smp))
				}
				if i >= 0 {
					nodesCmp.as = append(nodesCmp.as, smp)
					buildxCmp.as = append(buildxCmp.as, smp)
				}
				return err
			},
			func() error {
				smp, _, err := s.hallmarkRelease(ctx, one, r, s.reg+"/bench/pool-1-node"+repoSuffix, "--platform", platforms, "--recursive")
				if err == nil {
					err = checkRan("hallmark, 1 node", smp)
				}
				if i >= 0 {
					nodesCmp.bs = append(nodesCmp.bs, smp)
				}
				return err
			},
			func() error {
				smp, err := s.buildxJob(ctx, bx, r, s.reg+"/bench/pool-buildx"+repoSuffix)
				if err == nil {
					err = checkRan("buildx", smp)
				}
				if i >= 0 {
					buildxCmp.bs = append(buildxCmp.bs, smp)
				}
				return err
			},
		}
		if err := alternate(i, sides); err != nil {
			return nil, fmt.Errorf("pool: %w", err)
		}
	}
	return []*comparison{nodesCmp, buildxCmp}, nil
}

// checkRan checks in the plain progress of the run's build that each of
// Dockerfile.pool's steps ran once per platform (none was cached).
func checkRan(side string, smp sample) error {
	progress := smp.procs[0].stderr
	for _, step := range []string{"ran-deps", "ran-app"} {
		if n := strings.Count(progress, step); n != len(poolPlatforms) {
			return fmt.Errorf("%s: step %s ran %d times, want once per platform (%d)\n%s", side, strings.TrimPrefix(step, "ran-"), n, len(poolPlatforms), tail(progress, 60))
		}
	}
	return nil
}

// writeBuilders writes hallmark's builder file for the nodes, each
// declaring its one platform (buildx's create --platform does the same).
func writeBuilders(dir string, nodes []*node) (string, error) {
	var b strings.Builder
	b.WriteString("nodes:\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "  - name: %s\n    addr: %s\n    platforms: [%s]\n", n.name, n.addr, strings.Join(n.platforms, ", "))
	}
	path := filepath.Join(dir, "builders.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// checkPlacement checks, from release's JSON, that each platform was built
// on the node that claims it.
func checkPlacement(stdout string, nodes []*node) error {
	var out struct {
		Nodes []struct{ Platform, Node string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		return fmt.Errorf("release JSON: %w", err)
	}
	want := map[string]string{}
	for _, n := range nodes {
		want[n.platforms[0]] = n.name
	}
	got := map[string]string{}
	for _, n := range out.Nodes {
		got[n.Platform] = n.Node
	}
	for p, n := range want {
		if got[p] != n {
			return fmt.Errorf("pool release built %s on %q, want %q (release said %v)", p, got[p], n, got)
		}
	}
	return nil
}

// createBuildxBuilder creates (untimed) buildx's remote-driver builder of
// the nodes, one node per platform, and bootstraps it.
func (s *suite) createBuildxBuilder(ctx context.Context, nodes []*node) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, s.b.buildx, args...)
		cmd.Env = s.b.baseEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("buildx %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	_ = run("rm", poolBuilder) // left by an interrupted run; absent otherwise
	for i, n := range nodes {
		args := []string{"create", "--name", poolBuilder, "--driver", "remote", "--node", n.name, "--platform", strings.Join(n.platforms, ",")}
		if i > 0 {
			args = append(args, "--append")
		}
		if err := run(append(args, n.addr)...); err != nil {
			return err
		}
	}
	return run("--builder", poolBuilder, "inspect", "--bootstrap")
}

// buildxJob runs buildx build on the multi-node builder, pushing (each
// node pushes its platform by digest, buildx merges the index and tags
// it), then cosign v3.1.3 signs the index and each platform (--recursive)
// and verifies the index. The digest comes from buildx's metadata file.
func (s *suite) buildxJob(ctx context.Context, c releaseCase, r *run, repo string) (sample, error) {
	var out sample
	md := filepath.Join(s.b.dir, "buildx-metadata.json")
	build := []string{s.b.buildx, "--builder", poolBuilder, "build", "--progress", c.progressMode(), "--provenance=false",
		"--platform", strings.Join(poolPlatforms, ","), "-f", filepath.Join(s.ctxDir, c.dockerfile()),
		"--build-arg", "REV=" + r.revision + "-" + c.rev, "--label", "org.opencontainers.image.revision=" + r.revision, "--metadata-file", md,
		"--output", "type=image,name=" + repo + ":" + r.tag + ",push=true,registry.insecure=true,oci-mediatypes=true", s.ctxDir}
	p, err := s.r.run(ctx, "build", s.b.baseEnv(), build, false)
	if err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	raw, err := os.ReadFile(md)
	if err != nil {
		return out, err
	}
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		return out, fmt.Errorf("buildx metadata: %w", err)
	}
	d, _ := meta["containerimage.digest"].(string)
	if !strings.HasPrefix(d, "sha256:") {
		return out, fmt.Errorf("buildx metadata names no digest: %s", raw)
	}
	g := c.signing()
	g.recursive = true
	sv, err := s.cosignSignVerify(ctx, g, r, []string{repo + "@" + d})
	out.procs = append(out.procs, sv.procs...)
	return out, err
}
