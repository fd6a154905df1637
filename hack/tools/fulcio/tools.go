//go:build tools

// Package tools pins the Fulcio version the test bed builds.
package tools

import (
	_ "github.com/sigstore/fulcio"
)
