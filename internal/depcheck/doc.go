// Package depcheck holds no code: its tests assert that hallmark's library
// packages (the release pipeline included) do not depend on the CLI
// framework, that internal/cli is the only package importing it, and that
// the CLI uses the libraries through their public packages only (as
// go-containerregistry's cmd/crane/depcheck_test.go does).
package depcheck
