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
