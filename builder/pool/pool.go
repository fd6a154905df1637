package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
)

// ErrNoNode is returned when no node that is up builds a platform natively.
var ErrNoNode = errors.New("no buildkitd in the pool builds the platform natively")

// Node is one buildkitd of a pool.
type Node struct {
	// Name identifies the node in the hashing and in outputs; empty means
	// Connect.Addr. Renaming a node moves its builds.
	Name string
	// Connect says how to reach it.
	Connect builder.ConnectOptions
	// Platforms it builds; empty means those its workers report.
	Platforms []string
	// File is the builder file the node was read from (LoadFile sets it);
	// messages about the node then name its fields in that file instead
	// of referring to Connect's options.
	File string
}

func (n Node) name() string {
	if n.Name != "" {
		return n.Name
	}
	return n.Connect.Addr
}

// NodesFromAddrs is one node per address, each with defaults' options;
// defaults' TLS goes to tcp:// addresses only.
func NodesFromAddrs(addrs []string, defaults builder.ConnectOptions) []Node {
	nodes := make([]Node, len(addrs))
	for i, a := range addrs {
		nodes[i] = Node{Connect: forAddr(defaults, a)}
	}
	return nodes
}

// forAddr is defaults for addr: TLS only for tcp://.
func forAddr(defaults builder.ConnectOptions, addr string) builder.ConnectOptions {
	c := defaults
	c.Addr = addr
	if !strings.HasPrefix(addr, "tcp://") {
		c.TLS = builder.TLS{}
	}
	return c
}

// member is a node with its platforms, or why it is down.
type member struct {
	node      Node
	name      string
	platforms []ocispecs.Platform
	down      error
}

// Pool is a set of nodes whose platforms are known.
type Pool struct {
	// Balance bounds the nodes' loads in Build; the zero value places by
	// hashing alone.
	Balance Balance
	members []*member
	logger  *slog.Logger
}

// Validate checks the nodes' options without contacting them: names are
// unique, addresses and TLS settings valid, declared platforms parse.
func Validate(nodes []Node) error {
	if len(nodes) == 0 {
		return errors.New("no buildkitd in the pool")
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if seen[n.name()] {
			return fmt.Errorf("buildkitd %s is in the pool twice", n.name())
		}
		seen[n.name()] = true
		if err := n.Connect.Validate(); err != nil {
			return fmt.Errorf("buildkitd %s: %w", n.name(), n.explain(err))
		}
		for _, p := range n.Platforms {
			if _, err := platforms.Parse(p); err != nil {
				return fmt.Errorf("buildkitd %s: invalid platform %q: %w", n.name(), p, err)
			}
		}
	}
	return nil
}

// Discover validates the nodes and learns the platforms of those that do
// not declare them (ListWorkers, in parallel). A node that cannot be
// reached is down: Discover fails only when every node is, or for bad
// options. logger (nil: none) hears about down nodes at warn level.
func Discover(ctx context.Context, nodes []Node, logger *slog.Logger) (*Pool, error) {
	if err := Validate(nodes); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{members: make([]*member, len(nodes)), logger: logger}
	parallel.ForEach(len(nodes), parallel.Max, func(i int) error {
		m := &member{node: nodes[i], name: nodes[i].name()}
		p.members[i] = m
		declared := nodes[i].Platforms
		if len(declared) == 0 {
			var err error
			if declared, err = discover(ctx, nodes[i].Connect); err != nil {
				m.down = nodes[i].explain(err)
				logger.WarnContext(ctx, "buildkitd is down: skipped; its platforms go to the other nodes", "node", m.name, "error", m.down)
				return nil
			}
		}
		for _, s := range declared {
			pl, _ := platforms.Parse(s)
			m.platforms = append(m.platforms, platforms.Normalize(pl))
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for _, m := range p.members {
		if m.down == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("every buildkitd of the pool is down: %w", p.members[0].down)
}

func discover(ctx context.Context, c builder.ConnectOptions) ([]string, error) {
	b, err := builder.Connect(ctx, c)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.Platforms(ctx)
}

// Down lists the nodes found down at discovery, with why, in the
// pool's order.
func (p *Pool) Down() []Skip {
	var out []Skip
	for _, m := range p.members {
		if m.down != nil {
			out = append(out, Skip{Node: m.name, Err: m.down.Error()})
		}
	}
	return out
}

// native reports whether m builds platform natively: one of its
// platforms runs it (containerd's platforms.Only: linux/amd64 runs
// linux/386, an arm64 node arm/v8 and arm/v7...).
func (m *member) native(platform ocispecs.Platform) bool {
	for _, p := range m.platforms {
		if platforms.Only(p).Match(platform) {
			return true
		}
	}
	return false
}

// Candidates are the names of the nodes, up, that build platform
// natively, in their rendezvous order for k.
func (p *Pool) Candidates(k Key, platform string) ([]string, error) {
	pl, err := platforms.Parse(platform)
	if err != nil {
		return nil, fmt.Errorf("invalid platform %q: %w", platform, err)
	}
	pl = platforms.Normalize(pl)
	var names []string
	for _, m := range p.members {
		if m.down == nil && m.native(pl) {
			names = append(names, m.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s (nodes: %s)", ErrNoNode, platform, p.describe())
	}
	return Rank(names, k, platforms.Format(pl)), nil
}

// describe lists the members with their platforms, or down.
func (p *Pool) describe() string {
	parts := make([]string, len(p.members))
	for i, m := range p.members {
		if m.down != nil {
			parts[i] = m.name + " down"
			continue
		}
		ps := make([]string, len(m.platforms))
		for j, pl := range m.platforms {
			ps[j] = platforms.Format(pl)
		}
		parts[i] = m.name + " " + strings.Join(ps, ",")
	}
	return strings.Join(parts, "; ")
}

func (p *Pool) member(name string) *member {
	for _, m := range p.members {
		if m.name == name {
			return m
		}
	}
	return nil
}
