package builder

import "encoding/base64"

// decodeMaybeBase64 returns the decoded bytes of s when it is base64 (how
// some BuildKit versions encode JSON exporter values), else s itself.
func decodeMaybeBase64(s string) []byte {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b
	}
	return []byte(s)
}
