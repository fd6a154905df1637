package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rekorWithTiles serves the bed's Rekor v2 with its tiles at one URL, as
// Sigstore's public-good Rekor v2 logs serve them: the write API goes to
// the bed's Rekor, GETs of the tlog-tiles read API (checkpoint, tile/...)
// are served from its storage directory (the bed's POSIX Rekor serves no
// reads itself). It returns that URL and a copy of the instance's trusted
// root listing the Rekor at it (same key, same checkpoint origin: the host
// 127.0.0.1).
func rekorWithTiles(t *testing.T, b testbed) (rekorURL, trustedRoot string) {
	t.Helper()
	b.RequireTransparency()
	tiles := filepath.Join(filepath.Dir(b.Getenv("HALLMARK_TEST_TRUSTED_ROOT")), "rekor", "storage")
	if _, err := os.Stat(filepath.Join(tiles, "checkpoint")); err != nil {
		t.Fatalf("the bed's Rekor tiles: %v", err)
	}
	bedURL, err := url.Parse(b.RekorURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(bedURL)
	files := http.FileServer(http.Dir(tiles))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && (r.URL.Path == "/checkpoint" || strings.HasPrefix(r.URL.Path, "/tile/")) {
			files.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s.URL, rewriteJSON(t, b.SigstoreTrustedRoot(), strings.NewReplacer(b.RekorURL(), s.URL), nil)
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
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	return rewriteJSON(t, path, nil, func(m map[string]any) {
		logs, _ := m["tlogs"].([]any)
		if len(logs) == 0 {
			t.Fatalf("%s lists no Rekor", path)
		}
		for _, l := range logs {
			l := l.(map[string]any)
			l["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(der)
			l["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(id[:])}
		}
	})
}
