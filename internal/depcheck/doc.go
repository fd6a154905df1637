// Package depcheck holds no code: its test asserts that hallmark's library
// packages do not depend on the CLI framework, which belongs to package
// main only (as go-containerregistry's cmd/crane/depcheck_test.go does).
package depcheck
