package pool

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
)

// RecommendedMaxLoadFactor is the Balance.MaxLoadFactor to start from: a
// node takes up to a quarter more builds than the candidates' mean before
// the next node in the order gets them.
const RecommendedMaxLoadFactor = 1.25

// DefaultLoadTimeout bounds the reading of the nodes' loads when
// Balance.Timeout is zero.
const DefaultLoadTimeout = 2 * time.Second

// Balance bounds the builds a node runs: consistent hashing with bounded
// loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent hashing with
// bounded loads", 2018). Before a platform is built, each candidate node
// is asked how many builds it runs (its build history's active records,
// every client's); the platform goes to the first node in the rendezvous
// order that runs fewer than Cap. A node whose load cannot be read counts
// as running none: reading the loads never fails a build. The zero value
// is off: placement by hashing alone, and no calls.
type Balance struct {
	// MaxLoadFactor is c = 1+ε in Cap: 0 is off, otherwise at least 1
	// (RecommendedMaxLoadFactor is 1.25).
	MaxLoadFactor float64
	// Timeout bounds the reading of the loads, all nodes in parallel;
	// zero means DefaultLoadTimeout.
	Timeout time.Duration
}

// Validate checks the factor: 0, or a finite number of at least 1.
func (b Balance) Validate() error {
	if err := checkFactor(b.MaxLoadFactor); err != nil {
		return fmt.Errorf("{pool.Balance.MaxLoadFactor} %w", err)
	}
	return nil
}

// checkFactor says what is wrong with a max load factor, as the end of a
// sentence naming where it was set.
func checkFactor(f float64) error {
	if f == 0 || f >= 1 && !math.IsInf(f, 1) {
		return nil
	}
	return fmt.Errorf("is %g: want 0 (off) or at least 1 (1.25: a node takes up to 25%% more builds than the mean)", f)
}

// Cap is how many builds a node may run before it is passed over, among
// n candidate nodes running total builds together and with the new one:
// ceil(factor·(total+1)/n), at least 1. Some candidate always runs fewer
// (their loads add up to less than n·Cap).
func Cap(factor float64, total, n int) int {
	// The epsilon keeps an exact quotient from rounding up (1.1·10/11).
	c := int(math.Ceil(factor*float64(total+1)/float64(n) - 1e-9))
	return max(c, 1)
}

// Busy is a node passed over for its load.
type Busy struct {
	Node string `json:"node"`
	// Builds is how many builds it ran when read, Cap the bound it reached.
	Builds int `json:"builds"`
	Cap    int `json:"cap"`
}

// bounded reorders names, in rendezvous order, for their loads: the
// nodes under the cap first, in their order, then those at it or over
// (tried only when every other fails), in theirs. busy are the latter.
func bounded(names []string, loads map[string]int, factor float64) (order []string, busy []Busy) {
	total := 0
	for _, n := range names {
		total += loads[n]
	}
	limit := Cap(factor, total, len(names))
	order = make([]string, 0, len(names))
	var over []string
	for _, n := range names {
		if loads[n] < limit {
			order = append(order, n)
			continue
		}
		over = append(over, n)
		busy = append(busy, Busy{Node: n, Builds: loads[n], Cap: limit})
	}
	return append(order, over...), busy
}

// passedOver are the busy nodes ranked before node in names: those the
// build went past for their load.
func passedOver(names []string, busy []Busy, node string) []Busy {
	var out []Busy
	for _, n := range names {
		if n == node {
			return out
		}
		for _, b := range busy {
			if b.Node == n {
				out = append(out, b)
			}
		}
	}
	return out
}

// loads reads the active builds of the named nodes, in parallel, each
// within the balance's timeout; a node that cannot be read counts as 0.
func (p *Pool) loads(ctx context.Context, names []string, platform string) map[string]int {
	timeout := p.Balance.Timeout
	if timeout == 0 {
		timeout = DefaultLoadTimeout
	}
	counts := make([]int, len(names))
	parallel.ForEach(len(names), len(names), func(i int) error {
		m := p.member(names[i])
		n, err := activeBuilds(ctx, m.node.Connect, timeout)
		if err != nil {
			p.logger.DebugContext(ctx, "buildkitd's load unknown: counted as 0", "node", names[i], "platform", platform, "error", m.node.explain(err))
		}
		counts[i] = n
		return nil
	})
	out := make(map[string]int, len(names))
	for i, n := range names {
		out[n] = counts[i]
	}
	return out
}

func activeBuilds(ctx context.Context, c builder.ConnectOptions, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.Timeout = timeout
	b, err := builder.Connect(ctx, c)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	return b.ActiveBuilds(ctx)
}
