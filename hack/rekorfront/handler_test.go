package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestHandler: the tlog-tiles reads come from the storage directory, and
// only they; everything else reaches rekor-server. (rekor-server stands in
// here as a server naming the request it got: the bed's real one is
// fronted in e2e, e2e/rekortiles_test.go.)
func TestHandler(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"checkpoint":                 "127.0.0.1\n3\nhash\n",
		"tile/0/000.p/3":             "level 0",
		"tile/entries/000.p/3":       "bundle",
		".state/treeState":           "private",
		"tile/0/x001/not-a-tile-yet": "deep",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "tile", "link")); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "api "+r.Method+" "+r.URL.Path)
	}))
	t.Cleanup(api.Close)
	h, err := newHandler(api.URL, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodGet, "/checkpoint", http.StatusOK, files["checkpoint"]},
		{http.MethodHead, "/checkpoint", http.StatusOK, ""},
		{http.MethodGet, "/tile/0/000.p/3", http.StatusOK, "level 0"},
		{http.MethodGet, "/tile/entries/000.p/3", http.StatusOK, "bundle"},
		{http.MethodGet, "/tile/0/x001/not-a-tile-yet", http.StatusOK, "deep"},
		{http.MethodGet, "/tile/0/001", http.StatusNotFound, "404 page not found\n"},
		{http.MethodGet, "/tile/0", http.StatusNotFound, "404 page not found\n"},
		{http.MethodGet, "/tile/../.state/treeState", http.StatusOK, "api GET /tile/../.state/treeState"},
		{http.MethodGet, "/tile/link", http.StatusNotFound, "404 page not found\n"},
		{http.MethodGet, "/.state/treeState", http.StatusOK, "api GET /.state/treeState"},
		{http.MethodPost, "/api/v2/log/entries", http.StatusOK, "api POST /api/v2/log/entries"},
		{http.MethodPost, "/checkpoint", http.StatusOK, "api POST /checkpoint"},
		{http.MethodGet, "/api/v2/checkpoint", http.StatusOK, "api GET /api/v2/checkpoint"},
		{http.MethodGet, "/healthz", http.StatusOK, "api GET /healthz"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.code || rec.Body.String() != tc.body {
				t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}
}
