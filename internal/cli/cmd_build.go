package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/release"
)

// buildCmd is hallmark build's flags.
type buildCmd struct {
	connect  connectGroup
	build    buildGroup
	sbom     sbomGroup
	output   outputGroup
	registry registryGroup
}

func buildCommand(e *env) command {
	var cmd buildCmd
	return command{
		Command: &cli.Command{
			Name:      "build",
			Usage:     "build a Dockerfile on buildkitd and push it; prints REPO@sha256:DIGEST",
			ArgsUsage: "[CONTEXT_DIR]",
			Description: "Builds through buildkitd's dockerfile.v0 frontend and pushes every --tag in one export.\n" +
				"The printed digest is the one buildkitd reports for the pushed manifest (or index).\n" +
				"build signs nothing, so its tags name an unsigned image: use release to tag only signed images.\n" +
				"Progress goes to stderr; stdout carries only the pinned reference.",
			Action: func(c *cli.Context) error { return cmd.run(c, e) },
		},
		groups: []flagGroup{&cmd.connect, &cmd.build, &cmd.sbom, &cmd.output, &cmd.registry},
	}
}

func (cmd *buildCmd) run(c *cli.Context, e *env) error {
	if c.NArg() > 1 {
		return usageErr("build takes one CONTEXT_DIR, got %d arguments: %s", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	if err := cmd.connect.single("build"); err != nil {
		return err
	}
	if w := cmd.connect.unusedBalance("build"); w != "" {
		e.logger().Warn(w)
	}
	contextDir := c.Args().First()
	if contextDir == "" {
		contextDir = "."
	}
	req := cmd.build.request(contextDir, e)
	if err := cmd.sbom.apply(&req); err != nil {
		return err
	}
	res, err := release.Build(c.Context, release.BuildOptions{
		Connect:  cmd.connect.options(),
		Request:  req,
		Tags:     cmd.build.tags,
		Registry: cmd.registry.registry(e),
	})
	if err != nil {
		return err
	}
	if f := cmd.output.metadataFile; f != "" {
		if err := writeJSONFile(f, buildMetadata(res)); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(e.stdout, res.Image.String())
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

// writeJSONFile writes v as indented JSON to path (see writeOutputFile).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeOutputFile(path, append(b, '\n'))
}
