package main

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strings"
)

// newHandler serves the tiles under storage and passes every other
// request to the rekor-server at api.
func newHandler(api, storage string) (http.Handler, error) {
	u, err := url.Parse(api)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("-api %q: want rekor-server's http://HOST:PORT", api)
	}
	if storage == "" {
		return nil, fmt.Errorf("-storage: want rekor-server's --storage-dir")
	}
	root, err := os.OpenRoot(storage)
	if err != nil {
		return nil, fmt.Errorf("opening the storage directory: %w", err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := tileFile(r.URL.Path)
		if ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			serveFile(w, r, root, name)
			return
		}
		proxy.ServeHTTP(w, r)
	}), nil
}

// tileFile maps a request path to the file of the tlog-tiles read API it
// names, relative to the storage directory: "checkpoint" or "tile/...".
// Cleaning first keeps "/tile/../.state/..." out.
func tileFile(p string) (string, bool) {
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	return name, name == "checkpoint" || strings.HasPrefix(name, "tile/")
}

// serveFile serves one regular file of root, or 404.
func serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, name string) {
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if name == "checkpoint" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache") // a new one every checkpoint interval
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
