package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/internal/version"
)

func versionCommand(e *env) command {
	return command{Command: &cli.Command{
		Name:  "version",
		Usage: "print hallmark's version",
		Action: func(*cli.Context) error {
			_, err := fmt.Fprintln(e.stdout, version.String())
			return err
		},
	}}
}
