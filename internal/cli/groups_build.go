package cli

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/registry"
)

// connectGroup says how to reach buildkitd.
type connectGroup struct {
	addrs                         []string
	builders, runtimeDir          string
	maxLoadFactor                 string
	caCert, cert, key, serverName string
	insecureTCP                   bool
}

func (*connectGroup) title() string { return "buildkitd connection" }

func (g *connectGroup) flags() []cli.Flag {
	return []cli.Flag{
		newListFlag(&cli.StringSliceFlag{Name: "addr", Usage: "buildkitd `ADDRESS` (unix://, tcp://, kube-pod://, docker-container://); default: $XDG_RUNTIME_DIR/buildkit/buildkitd.sock, then /run/buildkit/buildkitd.sock; release: repeatable, several build on a pool (docs/pool.md); the variable holds one per line", EnvVars: []string{"BUILDKIT_HOST", "HALLMARK_ADDR"}}, false, &g.addrs),
		&cli.StringFlag{Name: "builders", Usage: "release: build on the pool of buildkitd nodes listed in `FILE` (YAML or JSON: addr, name, platforms, tls per node; docs/pool.md)", EnvVars: []string{"HALLMARK_BUILDERS"}, Destination: &g.builders},
		&cli.StringFlag{Name: "max-load-factor", Usage: "release on a pool: bounded loads, `FACTOR` 1+ε: a platform passes over a node running ceil(FACTOR·(builds+1)/nodes) builds or more for the next in its order (1.25: up to 25% over the mean); one extra call per node that builds the platform; off (or 0) by default, replaces the builder file's max-load-factor (docs/pool.md)", EnvVars: []string{"HALLMARK_MAX_LOAD_FACTOR"}, Destination: &g.maxLoadFactor},
		&cli.StringFlag{Name: "xdg-runtime-dir", Hidden: true, EnvVars: []string{"XDG_RUNTIME_DIR"}, Destination: &g.runtimeDir},
		&cli.StringFlag{Name: "tlscacert", Usage: "CA certificate `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSCACERT"}, Destination: &g.caCert},
		&cli.StringFlag{Name: "tlscert", Usage: "client certificate `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSCERT"}, Destination: &g.cert},
		&cli.StringFlag{Name: "tlskey", Usage: "client key `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSKEY"}, Destination: &g.key},
		&cli.StringFlag{Name: "tlsservername", Usage: "`NAME` expected in buildkitd's certificate (default: the address's host)", EnvVars: []string{"HALLMARK_TLSSERVERNAME"}, Destination: &g.serverName},
		&cli.BoolFlag{Name: "insecure-buildkit-tcp", Usage: "allow a tcp:// buildkitd without TLS", EnvVars: []string{"HALLMARK_INSECURE_BUILDKIT_TCP"}, Destination: &g.insecureTCP},
	}
}

// options are the connection options of one buildkitd: the first
// --addr's (pool builds the others').
func (g *connectGroup) options() builder.ConnectOptions {
	addr := ""
	if len(g.addrs) > 0 {
		addr = g.addrs[0]
	}
	return builder.ConnectOptions{
		Addr:             addr,
		RuntimeDir:       g.runtimeDir,
		TLS:              builder.TLS{CACert: g.caCert, Cert: g.cert, Key: g.key, ServerName: g.serverName},
		AllowInsecureTCP: g.insecureTCP,
	}
}

// buildGroup describes the build and the tags it pushes.
type buildGroup struct {
	file, target, progress           string
	tags, platforms                  []string
	buildArgs, labels, annotations   []string
	secrets, ssh, cacheFrom, cacheTo []string
	noCache, provenance              bool
	// release: the group is release's, whose --provenance is on by
	// default (releaseCmd.options).
	release bool
}

func (*buildGroup) title() string { return "build" }

func (g *buildGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default: CONTEXT_DIR/Dockerfile)", EnvVars: []string{"HALLMARK_FILE"}, Destination: &g.file},
		newListFlag(&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "push to `REGISTRY/REPO:TAG` (repeatable or comma-separated; release: a TAG for --image); the variable holds one or more per line", EnvVars: []string{"HALLMARK_TAG"}}, true, &g.tags),
		newListFlag(&cli.StringSliceFlag{Name: "build-arg", Usage: "build argument `KEY=VALUE` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_BUILD_ARG"}}, false, &g.buildArgs),
		&cli.StringFlag{Name: "target", Usage: "build `STAGE` (default: the last)", EnvVars: []string{"HALLMARK_TARGET"}, Destination: &g.target},
		newListFlag(&cli.StringSliceFlag{Name: "platform", Usage: "target `OS/ARCH` (repeatable or comma-separated; several make an index); the variable holds one or more per line", EnvVars: []string{"HALLMARK_PLATFORM"}}, true, &g.platforms),
		newListFlag(&cli.StringSliceFlag{Name: "label", Usage: "image label `KEY=VALUE` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_LABEL"}}, false, &g.labels),
		newListFlag(&cli.StringSliceFlag{Name: "annotation", Usage: "OCI annotation `[manifest:|index:]KEY=VALUE` on the pushed manifest/index (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_ANNOTATION"}}, false, &g.annotations),
		newListFlag(&cli.StringSliceFlag{Name: "secret", Usage: "build secret `id=ID,src=PATH|env=VAR` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_SECRET"}}, false, &g.secrets),
		newListFlag(&cli.StringSliceFlag{Name: "ssh", Usage: "ssh agent socket or keys to forward: `default|ID=PATH` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_SSH"}}, false, &g.ssh),
		&cli.BoolFlag{Name: "no-cache", Usage: "do not use the build cache", EnvVars: []string{"HALLMARK_NO_CACHE"}, Destination: &g.noCache},
		newListFlag(&cli.StringSliceFlag{Name: "cache-from", Usage: "import build cache: `type=registry,ref=REPO:TAG|type=local,src=DIR` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_CACHE_FROM"}}, false, &g.cacheFrom),
		newListFlag(&cli.StringSliceFlag{Name: "cache-to", Usage: "export build cache: `type=registry,ref=REPO:TAG|type=local,dest=DIR` (repeatable); the variable holds one per line", EnvVars: []string{"HALLMARK_CACHE_TO"}}, false, &g.cacheTo),
		&cli.BoolFlag{Name: "provenance", Usage: g.provenanceUsage(), DefaultText: g.provenanceDefault(), EnvVars: []string{"HALLMARK_PROVENANCE"}, Destination: &g.provenance},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress output on stderr: `auto|tty|plain|rawjson|quiet`", EnvVars: []string{"HALLMARK_PROGRESS"}, Destination: &g.progress},
	}
}

// provenanceUsage is --provenance's usage, the same for build and
// release (docs/flags.md has one row per flag).
func (g *buildGroup) provenanceUsage() string {
	return "BuildKit's SLSA v1 provenance (mode=max) with the CI job as builder id and its repository and commit as VCS source and revision; " +
		"the pushed digest is then an index of the image and its attestation manifests. " +
		"release: on by default, one node or a pool (off with --new-bundle-format=false), checked against the job and the certificate, each platform manifest " +
		"signed and its provenance attested (bundle format); --provenance=false pushes a single-platform image as one manifest. " +
		"build: off by default, pushed unsigned"
}

// provenanceDefault is --provenance's default as help shows it.
func (g *buildGroup) provenanceDefault() string {
	if g.release {
		return "true, false with --new-bundle-format=false or a pool"
	}
	return ""
}

// request is the build of contextDir, with progress on progressOut; the
// tags are completed by release.Build. The build libraries' own logs go to
// e's logger, quiet with --progress quiet.
func (g *buildGroup) request(contextDir string, e *env) builder.Request {
	routeLibraryLogs(e, g.progress)
	var prov *builder.Provenance
	if g.provenance {
		prov = &builder.Provenance{}
		prov.BuilderID, prov.VCSSource, prov.VCSRevision = e.ci.BuildContext()
	}
	return builder.Request{
		Provenance:  prov,
		ContextDir:  contextDir,
		Dockerfile:  g.file,
		BuildArgs:   g.buildArgs,
		Target:      g.target,
		Platforms:   g.platforms,
		Labels:      g.labels,
		Annotations: g.annotations,
		Secrets:     g.secrets,
		SSH:         g.ssh,
		NoCache:     g.noCache,
		CacheFrom:   g.cacheFrom,
		CacheTo:     g.cacheTo,
		Progress:    progressMode(e, g.progress),
		ProgressOut: e.stderr,
		Logger:      e.logger(),
	}
}

// outputGroup names the files a command writes its result to.
type outputGroup struct {
	metadataFile string
}

func (*outputGroup) title() string { return "output" }

func (g *outputGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "metadata-file", Usage: "write the result as JSON to `FILE`", EnvVars: []string{"HALLMARK_METADATA_FILE"}, Destination: &g.metadataFile},
	}
}

// registryGroup is what every command that talks to registries has.
type registryGroup struct {
	insecure       []string
	skipTLSVerify  []string
	requestTimeout time.Duration
}

func (*registryGroup) title() string { return "registry" }

func (g *registryGroup) flags() []cli.Flag {
	return []cli.Flag{
		newListFlag(&cli.StringSliceFlag{
			Name:    "insecure-registry",
			Usage:   "registry `HOST[:PORT]` that may be reached over plain HTTP (repeatable or comma-separated; only for local/test registries); TLS certificates are still verified where TLS is used; the variable holds one or more per line",
			EnvVars: []string{"HALLMARK_INSECURE_REGISTRY"},
		}, true, &g.insecure),
		newListFlag(&cli.StringSliceFlag{
			Name:    "registry-skip-tls-verify",
			Usage:   "registry `HOST[:PORT]` whose TLS certificate is not verified, by hallmark and by buildkitd's push (repeatable or comma-separated; only for test registries with self-signed certificates); the variable holds one or more per line",
			EnvVars: []string{"HALLMARK_REGISTRY_SKIP_TLS_VERIFY"},
		}, true, &g.skipTLSVerify),
		&cli.DurationFlag{Name: "request-timeout", Value: 30 * time.Second, Usage: "give up on a registry request that sends no headers, or no body bytes, for `DURATION` (0: never)", EnvVars: []string{"HALLMARK_REQUEST_TIMEOUT"}, Destination: &g.requestTimeout},
	}
}

// registry is the registry access shared by a command's stages, with the
// CI environment's credentials.
func (g *registryGroup) registry(e *env) *registry.Registry {
	return registry.New(registry.Config{
		Insecure:      g.insecure,
		SkipTLSVerify: g.skipTLSVerify,
		// 0 means the registry's default there; here it means never.
		ResponseHeaderTimeout: noLimitIfZero(g.requestTimeout),
		BodyIdleTimeout:       noLimitIfZero(g.requestTimeout),
		Credentials:           e.ci.Credentials(),
		UserAgent:             version.UserAgent(),
		Logger:                e.logger(),
	})
}

// noLimitIfZero maps a flag's 0 ("never") to a library's negative "no
// limit" (where 0 is the default).
func noLimitIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
