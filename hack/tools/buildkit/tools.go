//go:build tools

// Package tools pins the buildkitd and buildctl versions the test bed builds.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
