//go:build tools

// Package tools pins the cosign v3 CLI version the test bed builds, next to
// cosign v2 (hack/tools/cosign), for interop tests and the public-good path.
package tools

import (
	_ "github.com/sigstore/cosign/v3/cmd/cosign"
)
