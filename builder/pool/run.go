package pool

import (
	"context"
	"fmt"

	"github.com/hallmark-dev/hallmark/builder"
)

// Skip is a node a build passed over, and why.
type Skip struct {
	Node string `json:"node"`
	Err  string `json:"error"`
}

// Placed is where one platform was built.
type Placed struct {
	// Node built it.
	Node string
	// Addr is the node's address.
	Addr string
	// Skipped are the nodes before it in the order that were down or whose
	// connection failed.
	Skipped []Skip
	// Busy are the nodes before it in the order passed over for their
	// load (Pool.Balance).
	Busy []Busy
}

// Build runs build for platform on the first candidate node for k that
// works: a node whose connection fails, before or during build (a
// builder.TransportError), is skipped for the next. Any other error of
// build is returned as it is, with the node it happened on. With
// Pool.Balance on and several candidates, the nodes that run too many
// builds come last (see Balance).
func (p *Pool) Build(ctx context.Context, k Key, platform string, build func(context.Context, *builder.Builder) error) (Placed, error) {
	ranked, err := p.Candidates(k, platform)
	if err != nil {
		return Placed{}, err
	}
	names, busy := ranked, []Busy(nil)
	if p.Balance.MaxLoadFactor != 0 && len(ranked) > 1 {
		names, busy = bounded(ranked, p.loads(ctx, ranked, platform), p.Balance.MaxLoadFactor)
		for _, b := range busy {
			p.logger.DebugContext(ctx, "buildkitd busy: its builds go to the next node under the cap", "node", b.Node, "platform", platform, "builds", b.Builds, "cap", b.Cap)
		}
	}
	var placed Placed
	var last error
	for _, name := range names {
		m := p.member(name)
		placed.Node, placed.Addr = name, m.node.Connect.Addr
		placed.Busy = passedOver(ranked, busy, name)
		err := m.node.explain(connectAndBuild(ctx, m.node.Connect, build))
		if err == nil || !builder.IsTransport(err) || ctx.Err() != nil {
			return placed, err
		}
		p.logger.WarnContext(ctx, "buildkitd failed: building on the next node", "node", name, "platform", platform, "error", err)
		placed.Skipped = append(placed.Skipped, Skip{Node: name, Err: err.Error()})
		last = err
	}
	return placed, fmt.Errorf("building %s: every node that builds it failed; the last: %w", platform, last)
}

func connectAndBuild(ctx context.Context, c builder.ConnectOptions, build func(context.Context, *builder.Builder) error) error {
	b, err := builder.Connect(ctx, c)
	if err != nil {
		return err
	}
	defer b.Close()
	return build(ctx, b)
}
