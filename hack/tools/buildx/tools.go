//go:build tools

// Package tools pins the buildx version the benchmark (hack/bench, the pool
// case) compares hallmark's pool release with: a remote-driver multi-node
// builder on the same buildkitd nodes.
package tools

import (
	_ "github.com/docker/buildx/cmd/buildx"
)
