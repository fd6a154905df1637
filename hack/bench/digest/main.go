// Command digest prints REPO@sha256:DIGEST for an image reference, as a CI
// script's `crane digest` step does: one HEAD of the manifest (a GET when
// the registry gives no digest). hack/bench runs it as the CLI job's
// digest look-up.
//
//	digest [--insecure] REGISTRY/REPO:TAG
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	insecure := flag.Bool("insecure", false, "allow plain HTTP to the registry")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: digest [--insecure] REGISTRY/REPO:TAG")
		os.Exit(2)
	}
	var opts []name.Option
	if *insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(flag.Arg(0), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		// Like crane digest: fall back to a GET when HEAD is refused.
		d, gerr := remote.Get(ref)
		if gerr != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		desc = &d.Descriptor
	}
	fmt.Println(ref.Context().Digest(desc.Digest.String()).String())
}
