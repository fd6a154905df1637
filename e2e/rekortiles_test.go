package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// rekorWithoutTiles is the bed's Rekor v2 without its tiles: rekor-server's
// own HTTP port, the write API alone (its POSIX build serves no reads),
// and a copy of the instance's trusted root listing the log at that URL
// (same key, same checkpoint origin: the host 127.0.0.1). The Rekor URL
// (b.RekorURL) serves the tiles with it, as public-good's logs do.
func rekorWithoutTiles(t *testing.T, b testbed) (rekorURL, trustedRoot string) {
	t.Helper()
	b.RequireTransparency()
	return b.RekorAPIURL(), rewriteJSON(t, b.SigstoreTrustedRoot(), strings.NewReplacer(b.RekorURL(), b.RekorAPIURL()), nil)
}

// rewriteJSON writes a copy of the JSON file at path with its text
// replaced by r (nil: none) and then edited by edit (nil: none).
func rewriteJSON(t *testing.T, path string, r *strings.Replacer, edit func(map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		data = []byte(r.Replace(string(data)))
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// withOtherRekorKey writes a copy of the trusted root at path whose Rekor
// logs have a fresh key (and its log ID) instead of theirs: the log's
// checkpoints are then signed by a key the trusted root does not hold.
func withOtherRekorKey(t *testing.T, path string) string {
	t.Helper()
	k := testutil.NewLogKey(t, "")
	return rewriteJSON(t, path, nil, func(m map[string]any) {
		logs, _ := m["tlogs"].([]any)
		if len(logs) == 0 {
			t.Fatalf("%s lists no Rekor", path)
		}
		for _, l := range logs {
			l := l.(map[string]any)
			l["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(k.DER)
			l["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(k.Log.ID)}
		}
	})
}
