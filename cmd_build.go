package main

import (
	"github.com/urfave/cli/v2"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:  "build",
		Usage: "build (not implemented yet)",
		Action: func(*cli.Context) error {
			return usageErr("hallmark build is not implemented yet")
		},
	}
}
