//go:build tools

// Package tools pins the transparency log the test bed runs: Rekor v2
// (rekor-tiles) with its POSIX (filesystem) backend.
package tools

import (
	_ "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix"
)
