package main

import (
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "verify (not implemented yet)",
		Action: func(*cli.Context) error {
			return usageErr("hallmark verify is not implemented yet")
		},
	}
}
