package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/registry"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build a Dockerfile on buildkitd and push it; prints REPO@sha256:DIGEST",
		ArgsUsage: "[CONTEXT_DIR]",
		Description: "Builds through buildkitd's dockerfile.v0 frontend and pushes every --tag in one export.\n" +
			"The printed digest is the one buildkitd reports for the pushed manifest (or index).\n" +
			"Progress goes to stderr; stdout carries only the pinned reference.",
		Flags:  append(append(buildkitFlags(), buildFlags()...), registryFlags()...),
		Action: runBuild,
	}
}

// buildkitFlags say how to reach buildkitd.
func buildkitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "addr", Usage: "buildkitd `ADDRESS` (unix://, tcp://, kube-pod://, docker-container://); default: $XDG_RUNTIME_DIR/buildkit/buildkitd.sock, then /run/buildkit/buildkitd.sock", EnvVars: []string{"BUILDKIT_HOST", "HALLMARK_ADDR"}},
		&cli.StringFlag{Name: "tlscacert", Usage: "CA certificate `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSCACERT"}},
		&cli.StringFlag{Name: "tlscert", Usage: "client certificate `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSCERT"}},
		&cli.StringFlag{Name: "tlskey", Usage: "client key `FILE` for a tcp:// buildkitd", EnvVars: []string{"HALLMARK_TLSKEY"}},
		&cli.StringFlag{Name: "tlsservername", Usage: "`NAME` expected in buildkitd's certificate (default: the address's host)", EnvVars: []string{"HALLMARK_TLSSERVERNAME"}},
		&cli.BoolFlag{Name: "insecure-buildkit-tcp", Usage: "allow a tcp:// buildkitd without TLS", EnvVars: []string{"HALLMARK_INSECURE_BUILDKIT_TCP"}},
	}
}

// buildFlags describe the build and the push.
func buildFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default: CONTEXT_DIR/Dockerfile)", EnvVars: []string{"HALLMARK_FILE"}},
		&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "push to `REGISTRY/REPO:TAG` (repeatable or comma-separated)", EnvVars: []string{"HALLMARK_TAG"}},
		&cli.StringSliceFlag{Name: "build-arg", Usage: "build argument `KEY=VALUE` (repeatable)", EnvVars: []string{"HALLMARK_BUILD_ARG"}},
		&cli.StringFlag{Name: "target", Usage: "build `STAGE` (default: the last)", EnvVars: []string{"HALLMARK_TARGET"}},
		&cli.StringSliceFlag{Name: "platform", Usage: "target `OS/ARCH` (repeatable or comma-separated; several make an index)", EnvVars: []string{"HALLMARK_PLATFORM"}},
		&cli.StringSliceFlag{Name: "label", Usage: "image label `KEY=VALUE` (repeatable)", EnvVars: []string{"HALLMARK_LABEL"}},
		&cli.StringSliceFlag{Name: "annotation", Usage: "OCI annotation `[manifest:|index:]KEY=VALUE` on the pushed manifest/index (repeatable)", EnvVars: []string{"HALLMARK_ANNOTATION"}},
		&cli.StringSliceFlag{Name: "secret", Usage: "build secret `id=ID,src=PATH|env=VAR` (repeatable)", EnvVars: []string{"HALLMARK_SECRET"}},
		&cli.StringSliceFlag{Name: "ssh", Usage: "ssh agent socket or keys to forward: `default|ID=PATH` (repeatable)", EnvVars: []string{"HALLMARK_SSH"}},
		&cli.BoolFlag{Name: "no-cache", Usage: "do not use the build cache", EnvVars: []string{"HALLMARK_NO_CACHE"}},
		&cli.StringSliceFlag{Name: "cache-from", Usage: "import build cache: `type=registry,ref=REPO:TAG|type=local,src=DIR` (repeatable)", EnvVars: []string{"HALLMARK_CACHE_FROM"}},
		&cli.StringSliceFlag{Name: "cache-to", Usage: "export build cache: `type=registry,ref=REPO:TAG|type=local,dest=DIR` (repeatable)", EnvVars: []string{"HALLMARK_CACHE_TO"}},
		&cli.StringFlag{Name: "metadata-file", Usage: "write the build result as JSON to `FILE`", EnvVars: []string{"HALLMARK_METADATA_FILE"}},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress output on stderr: `auto|tty|plain|rawjson|quiet`", EnvVars: []string{"HALLMARK_PROGRESS"}},
	}
}

// buildConfig is the build command's flags, bound once.
type buildConfig struct {
	connect      builder.ConnectOptions
	req          builder.Request
	tags         []string
	metadataFile string
}

func bindBuildConfig(c *cli.Context, contextDir string) buildConfig {
	return buildConfig{
		connect: builder.ConnectOptions{
			Addr:             c.String("addr"),
			RuntimeDir:       os.Getenv("XDG_RUNTIME_DIR"),
			TLS:              builder.TLS{CACert: c.String("tlscacert"), Cert: c.String("tlscert"), Key: c.String("tlskey"), ServerName: c.String("tlsservername")},
			AllowInsecureTCP: c.Bool("insecure-buildkit-tcp"),
		},
		req: builder.Request{
			ContextDir:  contextDir,
			Dockerfile:  c.String("file"),
			BuildArgs:   splitLines(c.StringSlice("build-arg")),
			Target:      c.String("target"),
			Platforms:   splitCommas(c.StringSlice("platform")),
			Labels:      splitLines(c.StringSlice("label")),
			Annotations: splitLines(c.StringSlice("annotation")),
			Secrets:     splitLines(c.StringSlice("secret")),
			SSH:         c.StringSlice("ssh"),
			NoCache:     c.Bool("no-cache"),
			CacheFrom:   c.StringSlice("cache-from"),
			CacheTo:     c.StringSlice("cache-to"),
			Progress:    c.String("progress"),
			ProgressOut: c.App.ErrWriter,
		},
		tags:         splitCommas(c.StringSlice("tag")),
		metadataFile: c.String("metadata-file"),
	}
}

// resolveTags parses the tags and decides whether the push may use plain
// HTTP: all tags' registries must agree.
func resolveTags(reg *registry.Registry, tags []string) ([]name.Tag, bool, error) {
	if len(tags) == 0 {
		return nil, false, fmt.Errorf("no image tag: give at least one --tag REGISTRY/REPOSITORY:TAG")
	}
	out := make([]name.Tag, 0, len(tags))
	insecure := 0
	for _, s := range tags {
		t, err := reg.ParseTag(s)
		if err != nil {
			return nil, false, err
		}
		if reg.IsInsecure(t.RegistryStr()) {
			insecure++
		}
		out = append(out, t)
	}
	if insecure != 0 && insecure != len(out) {
		return nil, false, fmt.Errorf("tags mix insecure and TLS registries; push to one kind per build")
	}
	return out, insecure > 0, nil
}

func runBuild(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErr("build takes one CONTEXT_DIR, got %d arguments: %s", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	contextDir := c.Args().First()
	if contextDir == "" {
		contextDir = "."
	}
	cfg := bindBuildConfig(c, contextDir)
	reg := newRegistry(c)
	res, err := build(c, cfg, reg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, res.Image.String())
	return err
}

// build runs the build stage: usage errors exit 2, build errors 3.
func build(c *cli.Context, cfg buildConfig, reg *registry.Registry) (*builder.Result, error) {
	tags, insecure, err := resolveTags(reg, cfg.tags)
	if err != nil {
		return nil, stage(exitUsage, err)
	}
	cfg.req.Tags, cfg.req.Insecure = tags, insecure
	cfg.req.Keychain = reg.Keychain()
	cfg.req.RemoteOptions = reg.RemoteOptions(c.Context)
	if err := cfg.req.Validate(); err != nil {
		return nil, stage(exitUsage, err)
	}
	if err := cfg.connect.Validate(); err != nil && !errors.Is(err, builder.ErrNoBuildkitd) {
		return nil, stage(exitUsage, err)
	}
	b, err := builder.Connect(c.Context, cfg.connect)
	if err != nil {
		return nil, stage(exitBuild, err)
	}
	defer b.Close()
	res, err := b.Build(c.Context, cfg.req)
	if err != nil {
		return nil, stage(exitBuild, explainPushError(err, reg, tags))
	}
	if cfg.metadataFile != "" {
		if err := writeJSONFile(cfg.metadataFile, buildMetadata(res)); err != nil {
			return nil, stage(exitFailure, err)
		}
	}
	return res, nil
}

// explainPushError adds which credential source was used when the registry
// refused the push.
func explainPushError(err error, reg *registry.Registry, tags []name.Tag) error {
	msg := strings.ToLower(err.Error())
	for _, hint := range []string{"401", "403", "unauthorized", "denied", "forbidden", "authorization"} {
		if strings.Contains(msg, hint) {
			host := tags[0].RegistryStr()
			return fmt.Errorf("%w (registry %s refused the push; credentials used: %s)", err, host, reg.CredentialSource(host))
		}
	}
	return err
}

// buildMetadataJSON is what --metadata-file holds.
type buildMetadataJSON struct {
	Image            string                     `json:"image"`
	Digest           string                     `json:"digest"`
	Tags             []string                   `json:"tags"`
	Platforms        []builder.PlatformDigest   `json:"platforms"`
	ExporterResponse map[string]json.RawMessage `json:"exporterResponse"`
}

func buildMetadata(res *builder.Result) buildMetadataJSON {
	p := res.Platforms
	if p == nil {
		p = []builder.PlatformDigest{}
	}
	return buildMetadataJSON{
		Image: res.Image.String(), Digest: res.Digest.String(), Tags: res.Tags,
		Platforms: p, ExporterResponse: decodeExporterResponse(res.ExporterResponse),
	}
}

// decodeExporterResponse shows base64-encoded JSON values (such as
// containerimage.descriptor) as JSON, like buildctl's metadata file.
func decodeExporterResponse(exp map[string]string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(exp))
	for k, v := range exp {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil && json.Valid(b) && len(b) > 0 && (b[0] == '{' || b[0] == '[') {
			out[k] = b
			continue
		}
		s, _ := json.Marshal(v)
		out[k] = s
	}
	return out
}

// writeJSONFile writes v as indented JSON to path atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so readers never see a half-written file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hallmark-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// splitCommas splits comma-separated values inside repeated flags.
func splitCommas(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// splitLines splits values on newlines, so that one environment variable
// can hold several KEY=VALUE pairs whose values may contain commas.
func splitLines(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, "\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
