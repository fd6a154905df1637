package limits

import "github.com/sigstore/sigstore-go/pkg/root"

// ReadTrustedRoot loads a sigstore trusted_root.json of at most MaxFile
// bytes (sigstore-go's NewTrustedRootFromPath reads any file whole: a
// /dev/zero grew without end).
func ReadTrustedRoot(path string) (*root.TrustedRoot, error) {
	b, err := ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(b)
}

// ReadSigningConfig reads and parses a Sigstore signing_config.json,
// bounded like ReadFile.
func ReadSigningConfig(path string) (*root.SigningConfig, error) {
	b, err := ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	return root.NewSigningConfigFromJSON(b)
}
