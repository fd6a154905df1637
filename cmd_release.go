package main

import (
	"github.com/urfave/cli/v2"
)

func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:  "release",
		Usage: "release (not implemented yet)",
		Action: func(*cli.Context) error {
			return usageErr("hallmark release is not implemented yet")
		},
	}
}
