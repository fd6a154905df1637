package pool

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// simulate places jobs (one per project, linux/amd64) on nodes by
// rendezvous hashing and returns each project's node and the load per
// node.
func simulate(nodes []string, projects []Key) (map[Key]string, map[string]int) {
	placed := make(map[Key]string, len(projects))
	load := map[string]int{}
	for _, k := range projects {
		n := Rank(nodes, k, "linux/amd64")[0]
		placed[k] = n
		load[n]++
	}
	return placed, load
}

// TestSimulate50Nodes1000Jobs is docs/pool.md's simulation: 1,000
// concurrent jobs (distinct projects) on 50 nodes. It logs the spread of
// the load, the share of projects that find their node's local cache
// again on the next pipeline (all, while the pool does not change; all
// but the leaving node's when one leaves; all but those the new node
// takes when one joins), against a random pick (what a load balancer in
// front of the nodes gives: 1/50). Bounds are loose: the numbers are for
// the docs, the test fails only if the hashing stops spreading or starts
// moving projects it should not.
func TestSimulate50Nodes1000Jobs(t *testing.T) {
	const nodeCount, jobs = 50, 1000
	nodes := nodeNames(nodeCount)
	projects := keys(jobs)
	placed, load := simulate(nodes, projects)
	loads := make([]int, 0, nodeCount)
	for _, n := range nodes {
		loads = append(loads, load[n])
	}
	slices.Sort(loads)
	t.Logf("load per node (mean %d): min %d, median %d, p90 %d, max %d", jobs/nodeCount, loads[0], loads[nodeCount/2], loads[nodeCount*9/10], loads[nodeCount-1])
	if loads[nodeCount-1] > 3*jobs/nodeCount {
		t.Errorf("max load %d, more than 3x the mean", loads[nodeCount-1])
	}

	hits := func(after map[Key]string) float64 {
		n := 0
		for k, node := range placed {
			if after[k] == node {
				n++
			}
		}
		return float64(n) / float64(jobs)
	}
	same, _ := simulate(nodes, projects)
	left, _ := simulate(slices.Delete(slices.Clone(nodes), 7, 8), projects)
	joined, _ := simulate(append(slices.Clone(nodes), "buildkitd-new"), projects)
	tenLeft, _ := simulate(nodes[:nodeCount-10], projects)
	rng := rand.New(rand.NewPCG(1, 2))
	random := map[Key]string{}
	for _, k := range projects {
		random[k] = nodes[rng.IntN(nodeCount)]
	}
	rates := []struct {
		name string
		rate float64
		min  float64
	}{
		{"next pipeline, same pool", hits(same), 1},
		{"one node left", hits(left), 0.95},
		{"one node joined", hits(joined), 0.95},
		{"ten nodes left", hits(tenLeft), 0.75},
		{"random pick", hits(random), 0},
	}
	for _, r := range rates {
		t.Logf("local cache hit rate, %s: %.1f%%", r.name, 100*r.rate)
		if r.rate < r.min {
			t.Errorf("%s: %.3f, want at least %.2f", r.name, r.rate, r.min)
		}
	}
}

// BenchmarkRank50: placing one platform of one build among 50 nodes.
func BenchmarkRank50(b *testing.B) {
	nodes := nodeNames(50)
	k := Key{Repository: "registry.example/group/project", Context: ".", Dockerfile: "Dockerfile"}
	for b.Loop() {
		Rank(nodes, k, "linux/amd64")
	}
}

// Example of a project's order on three nodes.
func ExampleRank() {
	k := Key{Repository: "ghcr.io/acme/api", Context: ".", Dockerfile: "Dockerfile"}
	fmt.Println(Rank([]string{"bk-0", "bk-1", "bk-2"}, k, "linux/amd64"))
	// Output: [bk-2 bk-1 bk-0]
}

// workload is the jobs running at once, one Key each: a project with
// several pipelines running has several.
type workload struct {
	name string
	jobs []Key
}

// skewed is hot projects with pipelines jobs running each, and the rest
// of total one job per project.
func skewed(total, hot, pipelines int) workload {
	ks := keys(total - hot*pipelines + hot)
	jobs := slices.Clone(ks[hot:])
	for _, k := range ks[:hot] {
		for range pipelines {
			jobs = append(jobs, k)
		}
	}
	return workload{fmt.Sprintf("skewed: %d hot projects × %d pipelines + %d projects × 1", hot, pipelines, total-hot*pipelines), jobs}
}

// burst places the jobs, arriving in arrival's order and all running at
// once, each on the first node in its rendezvous order under the cap
// (bounded, as Pool.Build with the loads read exact), or by hashing alone
// with factor 0. It returns each job's node and each node's load.
func burst(nodes []string, w workload, arrival []int, factor float64, ranks map[Key][]string) ([]string, map[string]int) {
	load := make(map[string]int, len(nodes))
	on := make([]string, len(w.jobs))
	for _, i := range arrival {
		k := w.jobs[i]
		if ranks[k] == nil {
			ranks[k] = Rank(nodes, k, "linux/amd64")
		}
		order := ranks[k]
		if factor != 0 {
			order, _ = bounded(order, load, factor)
		}
		on[i] = order[0]
		load[on[i]]++
	}
	return on, load
}

// churn continues from a burst's placement (on, load): each job in
// order ends and its project's next pipeline arrives, the others still
// running. It returns how many landed on a node that had built their
// project (warm, updated as it goes), and the highest load seen.
func churn(w workload, on []string, load map[string]int, order []int, factor float64, ranks map[Key][]string, warm map[Key]map[string]bool) (hits, maxLoad int) {
	for _, i := range order {
		k := w.jobs[i]
		load[on[i]]--
		next := ranks[k]
		if factor != 0 {
			next, _ = bounded(next, load, factor)
		}
		on[i] = next[0]
		load[on[i]]++
		maxLoad = max(maxLoad, load[on[i]])
		if warm[k][on[i]] {
			hits++
		}
		warm[k][on[i]] = true
	}
	return hits, maxLoad
}

// TestSimulateBoundedLoads is docs/pool.md's bounded-loads table: 1,000
// jobs running at once on 50 nodes, for several factors (0: hashing
// alone), on a uniform workload (1,000 projects) and skewed ones (a few
// hot projects with many pipelines at once). Two bursts: every job
// arrives, in a random order, and runs until all have; then every
// project's next pipelines arrive, in another order, on an empty pool
// again. Then churn: from the second burst, each job in turn ends and its
// project's next pipeline arrives while the 999 others run. Logged per
// factor: the busiest node's jobs against the mean (20), the share of
// the second burst's jobs not on their project's first node, and the
// local cache hit rates: the share of jobs landing on a node that had
// built their project (in the second burst: in the first; in churn: in
// the bursts or earlier in churn). Fails if a node goes over the cap, or
// if hashing alone stops finding every cache again.
func TestSimulateBoundedLoads(t *testing.T) {
	const nodeCount, jobs = 50, 1000
	nodes := nodeNames(nodeCount)
	workloads := []workload{{"uniform: 1000 projects × 1", keys(jobs)}, skewed(jobs, 5, 50), skewed(jobs, 20, 20)}
	for _, w := range workloads {
		ranks := map[Key][]string{}
		t.Logf("%s", w.name)
		for _, factor := range []float64{1.1, 1.25, 1.5, 0} {
			rng := rand.New(rand.NewPCG(3, 4))
			first, _ := burst(nodes, w, rng.Perm(jobs), factor, ranks)
			next, load := burst(nodes, w, rng.Perm(jobs), factor, ranks)
			warm := map[Key]map[string]bool{}
			for i, n := range first {
				if warm[w.jobs[i]] == nil {
					warm[w.jobs[i]] = map[string]bool{}
				}
				warm[w.jobs[i]][n] = true
			}
			hits, moved, maxLoad := 0, 0, 0
			for i, n := range next {
				if warm[w.jobs[i]][n] {
					hits++
				}
				if n != ranks[w.jobs[i]][0] {
					moved++
				}
				warm[w.jobs[i]][n] = true
			}
			for _, l := range load {
				maxLoad = max(maxLoad, l)
			}
			churnHits, churnMax := churn(w, next, load, rng.Perm(jobs), factor, ranks, warm)
			maxLoad = max(maxLoad, churnMax)
			hit, churnHit := float64(hits)/jobs, float64(churnHits)/jobs
			limit := Cap(factor, jobs-1, nodeCount)
			name := fmt.Sprintf("ε %.2f (cap %d)", factor-1, limit)
			if factor == 0 {
				name = "off (hashing alone)"
			}
			t.Logf("  %-20s max %3d jobs per node (%.2f× the mean %d), %4.1f%% not on their first node; local cache hit: burst %5.1f%%, churn %5.1f%%",
				name, maxLoad, float64(maxLoad)/(jobs/nodeCount), jobs/nodeCount, 100*float64(moved)/jobs, 100*hit, 100*churnHit)
			if factor != 0 && maxLoad > limit {
				t.Errorf("%s %s: a node runs %d jobs, over the cap %d", w.name, name, maxLoad, limit)
			}
			if factor == 0 && (hit != 1 || churnHit != 1 || moved != 0) {
				t.Errorf("%s, hashing alone: cache hits %.3f and %.3f, %d moved; want all found, none moved", w.name, hit, churnHit, moved)
			}
		}
	}
}
