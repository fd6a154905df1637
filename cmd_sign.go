package main

import (
	"github.com/urfave/cli/v2"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:  "sign",
		Usage: "sign (not implemented yet)",
		Action: func(*cli.Context) error {
			return usageErr("hallmark sign is not implemented yet")
		},
	}
}
