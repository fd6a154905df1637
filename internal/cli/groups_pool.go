package cli

import (
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

// pool is the nodes of a release on several buildkitd: those of
// --builders, or one per --addr when there are several (each with the
// TLS flags when it is tcp://); nil for one buildkitd.
func (g *connectGroup) pool() ([]pool.Node, error) {
	defaults := g.options()
	defaults.Addr = ""
	if g.builders != "" {
		if len(g.addrs) > 0 {
			return nil, usageErr("give either --builders or --addr, not both")
		}
		nodes, err := pool.LoadFile(g.builders, defaults)
		if err != nil {
			return nil, usageErr("%w", err)
		}
		return nodes, nil
	}
	if len(g.addrs) < 2 {
		return nil, nil
	}
	return pool.NodesFromAddrs(g.addrs, defaults), nil
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
