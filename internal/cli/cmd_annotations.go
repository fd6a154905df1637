package cli

import (
	"encoding/json"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
)

// annotationOptions binds the annotation flags sign, release and
// annotations share: -a/--annotations and --no-ci-annotations.
type annotationOptions struct {
	explicit cli.StringSlice
	noCI     bool
}

func (o *annotationOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{
			Name:        "annotations",
			Aliases:     []string{"a"},
			Usage:       "extra annotation `KEY=VALUE` (repeatable; wins over the automatic CI provenance value with the same key); the variable holds one per line",
			EnvVars:     []string{"HALLMARK_ANNOTATIONS"},
			Destination: &o.explicit,
		},
		&cli.BoolFlag{
			Name:        "no-ci-annotations",
			Usage:       "leave out the provenance annotations taken from CI variables or the git checkout (the tag and -a values stay)",
			EnvVars:     []string{"HALLMARK_NO_CI_ANNOTATIONS"},
			Destination: &o.noCI,
		},
	}
}

// resolve returns the annotations to attach for tag, looking for a git
// checkout in dir outside CI. A malformed -a value is a usage error.
func (o *annotationOptions) resolve(env ci.Env, tag, dir string) (map[string]string, error) {
	explicit, err := ci.ParseAnnotations(splitLines(o.explicit.Value()))
	if err != nil {
		return nil, usageErr("%w", err)
	}
	return env.ResolveAnnotations(ci.AnnotationRequest{Tag: tag, Explicit: explicit, NoCI: o.noCI, Dir: dir})
}

// annotationsConfig is what `hallmark annotations` prints.
type annotationsConfig struct {
	tag         string
	annotations annotationOptions
}

func annotationsCommand() *cli.Command {
	var cfg annotationsConfig
	return &cli.Command{
		Name:  "annotations",
		Usage: "print the annotations a signature would carry, as JSON",
		Description: "Prints, as a JSON object with sorted keys, the annotations hallmark sign and release attach:\n" +
			"the provenance set from GitLab CI or GitHub Actions variables (outside CI: the source URL and\n" +
			"commit of the git checkout in the current directory), the tag, and the -a values, which win.\n" +
			"Automatic annotations with empty values are left out.",
		ArgsUsage:    " ",
		OnUsageError: onUsageError, // urfave/cli v2 does not pass the app's handler down to commands
		Flags: append([]cli.Flag{
			&cli.StringFlag{
				Name:        "tag",
				Usage:       "record `TAG` in the tag annotation (default: $CI_COMMIT_SHORT_SHA on GitLab, the short $GITHUB_SHA on GitHub Actions; none with --no-ci-annotations)",
				EnvVars:     []string{"HALLMARK_TAG"},
				Destination: &cfg.tag,
			},
		}, cfg.annotations.flags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("hallmark annotations takes no arguments, got %q", c.Args().First())
			}
			return printAnnotations(c.App.Writer, ci.Detect(os.Getenv), cfg)
		},
	}
}

func printAnnotations(w io.Writer, env ci.Env, cfg annotationsConfig) error {
	tag := cfg.tag
	if tag == "" && !cfg.annotations.noCI {
		tag = env.DefaultTag()
	}
	ann, err := cfg.annotations.resolve(env, tag, ".")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(ann) // encoding/json sorts map keys
}
