// Command hallmark builds container images on a buildkitd, signs the pushed
// digest with cosign and verifies the signature, without a Docker daemon.
package main

import (
	"context"
	"os"

	"github.com/hallmark-dev/hallmark/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args, os.Stdout, os.Stderr))
}
