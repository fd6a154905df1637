//go:build tools

// Package tools pins the certificate-transparency log the test bed runs
// behind Fulcio: TesseraCT's POSIX (filesystem) personality.
package tools

import (
	_ "github.com/transparency-dev/tesseract/cmd/tesseract/posix"
)
