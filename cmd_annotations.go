package main

import (
	"github.com/urfave/cli/v2"
)

func annotationsCommand() *cli.Command {
	return &cli.Command{
		Name:  "annotations",
		Usage: "annotations (not implemented yet)",
		Action: func(*cli.Context) error {
			return usageErr("hallmark annotations is not implemented yet")
		},
	}
}
