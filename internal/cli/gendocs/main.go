// Command gendocs writes docs/flags.md, the table of hallmark's flags and
// environment variables, from the CLI's flag groups:
//
//	go run ./internal/cli/gendocs docs/flags.md
package main

import (
	"fmt"
	"os"

	"github.com/hallmark-dev/hallmark/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(cli.FlagsMarkdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
