package signer

import (
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// trustedRootFromFile loads a trusted_root.json of at most limits.MaxFile
// bytes (sigstore-go's NewTrustedRootFromPath reads any file whole: a
// /dev/zero grew without end).
func trustedRootFromFile(path string) (*root.TrustedRoot, error) {
	b, err := limits.ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(b)
}
