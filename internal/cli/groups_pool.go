package cli

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/ci"
)

// single refuses a pool for a command that builds on one buildkitd.
func (g *connectGroup) single(command string) error {
	if len(g.addrs) > 1 || g.builders != "" {
		return usageErr("%s uses one buildkitd: give one --addr (several, or --builders, are for release)", command)
	}
	return nil
}

// pool is the nodes of a release on several buildkitd and their balance:
// those of --builders, or one per --addr when there are several (each
// with the TLS flags when it is tcp://); nil for one buildkitd.
// --max-load-factor, when given, replaces the builder file's.
func (g *connectGroup) pool() ([]pool.Node, pool.Balance, error) {
	flagged, err := g.balance()
	if err != nil {
		return nil, pool.Balance{}, err
	}
	defaults := g.options()
	defaults.Addr = ""
	if g.builders != "" {
		if len(g.addrs) > 0 {
			return nil, pool.Balance{}, usageErr("give either --builders or --addr, not both")
		}
		nodes, b, err := pool.LoadFile(g.builders, defaults)
		if err != nil {
			return nil, pool.Balance{}, usageErr("%w", err)
		}
		if flagged != nil {
			b = *flagged
		}
		return nodes, b, nil
	}
	if len(g.addrs) < 2 {
		return nil, pool.Balance{}, nil
	}
	var b pool.Balance
	if flagged != nil {
		b = *flagged
	}
	return pool.NodesFromAddrs(g.addrs, defaults), b, nil
}

// balance is --max-load-factor's balance: nil when not given, off for
// 0 or off.
func (g *connectGroup) balance() (*pool.Balance, error) {
	switch g.maxLoadFactor {
	case "":
		return nil, nil
	case "off":
		return &pool.Balance{}, nil
	}
	f, err := strconv.ParseFloat(g.maxLoadFactor, 64)
	if err != nil {
		return nil, usageErr("--max-load-factor %q is not a number: give e.g. 1.25, or off", g.maxLoadFactor)
	}
	b := pool.Balance{MaxLoadFactor: f}
	if err := b.Validate(); err != nil {
		return nil, usageErr("%w", err)
	}
	return &b, nil
}

// unusedBalance is the warning for --max-load-factor (or
// HALLMARK_MAX_LOAD_FACTOR) given where it has no effect: command runs on
// one buildkitd (build, doctor, or a release with one --addr), there is no
// pool to balance. "" when it is not given or balances a pool. As with
// --progress tty without a terminal, the run goes on: a factor set for a
// CI group's pools does not fail its one-buildkitd jobs.
func (g *connectGroup) unusedBalance(command string) string {
	if g.maxLoadFactor == "" || g.builders != "" || len(g.addrs) > 1 {
		return ""
	}
	return fmt.Sprintf("--max-load-factor %s has no effect: %s runs on one buildkitd (the factor balances a release on several --addr or --builders)", g.maxLoadFactor, command)
}

// cacheGroup is release's default registry cache.
type cacheGroup struct {
	ciCache bool
}

func (*cacheGroup) title() string { return "cache" }

func (g *cacheGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "ci-cache", Value: true, Usage: "in CI, import and export a registry cache at IMAGE/buildcache:PLATFORMS (mode=max; a failed export only warns) unless --cache-from/--cache-to are given; --ci-cache=false: none", EnvVars: []string{"HALLMARK_CI_CACHE"}, Destination: &g.ciCache},
	}
}

// registryCache says whether a release uses its default registry cache:
// in CI, unless turned off or the cache is given by hand (or disabled
// with --no-cache).
func (g *cacheGroup) registryCache(env ci.Env, build buildGroup) bool {
	inCI := env.Provider == ci.GitLab || env.Provider == ci.GitHubActions
	return g.ciCache && inCI && len(build.cacheFrom) == 0 && len(build.cacheTo) == 0 && !build.noCache
}
