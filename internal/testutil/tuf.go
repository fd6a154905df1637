package testutil

import (
	"crypto"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TUFRepo serves, until the test ends, a TUF repository on loopback in
// the layout Sigstore's CDN serves (consistent snapshots: 1.root.json,
// timestamp.json, 1.snapshot.json, 1.targets.json and
// targets/SHA256.NAME), holding targets, all roles signed with one fresh
// ed25519 key. It returns the mirror URL and the path of its root.json,
// the trust anchor a client starts from (cosign initialize --mirror
// --root).
func TUFRepo(t testing.TB, targets map[string][]byte) (mirror, rootPath string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	expires := time.Now().AddDate(0, 0, 7)
	tg := metadata.Targets(expires)
	for name, b := range targets {
		tf, err := metadata.TargetFile().FromBytes(name, b, "sha256")
		if err != nil {
			t.Fatal(err)
		}
		tg.Signed.Targets[name] = tf
		file := fmt.Sprintf("%s.%s", tf.Hashes["sha256"].String(), name)
		if err := os.WriteFile(filepath.Join(dir, "targets", file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := metadata.Root(expires)
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"root", "targets", "snapshot", "timestamp"} {
		if err := root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	snapshot, timestamp := metadata.Snapshot(expires), metadata.Timestamp(expires)
	for file, md := range map[string]interface {
		Sign(signature.Signer) (*metadata.Signature, error)
		ToFile(string, bool) error
	}{"1.root.json": root, "1.targets.json": tg, "1.snapshot.json": snapshot, "timestamp.json": timestamp} {
		if _, err := md.Sign(signer); err != nil {
			t.Fatal(err)
		}
		if err := md.ToFile(filepath.Join(dir, file), false); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL, filepath.Join(dir, "1.root.json")
}
