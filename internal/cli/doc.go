// Package cli is hallmark's command line: one file per command, the flag
// groups they compose, and the one place where library errors become exit
// codes. It is the only package that imports urfave/cli; the libraries it
// calls (builder, registry, ci, signer, verifier, doctor, release) never
// print and never name a flag.
package cli

//go:generate go run ./gendocs ../../docs/flags.md
