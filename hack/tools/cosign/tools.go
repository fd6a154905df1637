//go:build tools

// Package tools pins the cosign CLI version the test bed builds for interop tests.
package tools

import (
	_ "github.com/sigstore/cosign/v2/cmd/cosign"
)
