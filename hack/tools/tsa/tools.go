//go:build tools

// Package tools pins the timestamp-authority version the test bed builds.
package tools

import (
	_ "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server"
)
