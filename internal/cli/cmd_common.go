package cli

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/registry"
)

// registryFlags are the flags every command that talks to registries has.
func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{
			Name:    "insecure-registry",
			Usage:   "registry `HOST[:PORT]` that may be reached over plain HTTP (repeatable or comma-separated; only for local/test registries)",
			EnvVars: []string{"HALLMARK_INSECURE_REGISTRY"},
		},
	}
}

// ciEnv returns the CI environment of this process.
func ciEnv() ci.Env { return ci.Detect(os.Getenv) }

// newRegistry builds the registry access shared by a command's stages from
// the registry flags and the CI environment's credentials.
func newRegistry(c *cli.Context) *registry.Registry {
	return registry.New(registry.Config{
		Insecure:    splitCommas(c.StringSlice("insecure-registry")),
		Credentials: ciEnv().Credentials(),
		UserAgent:   version.UserAgent(),
		Logger:      logger(c),
	})
}
