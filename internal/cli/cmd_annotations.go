package cli

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
)

// annotationsCmd is hallmark annotations' flags: those of sign that decide
// the annotations, read from the same environment variables.
type annotationsCmd struct {
	tag         signTagGroup
	annotations annotationsGroup
}

func annotationsCommand(e *env) command {
	var cmd annotationsCmd
	return command{
		Command: &cli.Command{
			Name:  "annotations",
			Usage: "print the annotations a signature would carry, as JSON",
			Description: "Prints, as a JSON object with sorted keys, the annotations hallmark sign and release attach:\n" +
				"the provenance set from GitLab CI or GitHub Actions variables (outside CI: the source URL and\n" +
				"commit of the git checkout in the current directory), the tag, and the -a values, which win.\n" +
				"Automatic annotations with empty values are left out.",
			ArgsUsage: " ",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usageErr("hallmark annotations takes no arguments, got %q", c.Args().First())
				}
				return cmd.print(e.stdout, e.ci)
			},
		},
		groups: []flagGroup{&cmd.tag, &cmd.annotations},
	}
}

func (cmd *annotationsCmd) print(w io.Writer, env ci.Env) error {
	tag := cmd.tag.resolve(env, "", cmd.annotations.noCI)
	ann, err := cmd.annotations.resolve(env, tag, ".")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(ann) // encoding/json sorts map keys
}
