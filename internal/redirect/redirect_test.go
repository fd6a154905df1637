package redirect_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/redirect"
)

func TestCheck(t *testing.T) {
	var plainHits atomic.Int64
	var otherAuth atomic.Value
	plain := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	var n atomic.Int64
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/downgrade":
			http.Redirect(w, r, plain.URL+"/got", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop?"+strings.Repeat("x", int(n.Add(1))), http.StatusFound)
		}
	}))
	defer tlsSrv.Close()
	c := tlsSrv.Client()
	c.CheckRedirect = redirect.Check
	get := func(url string) error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer oidc-token")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(tlsSrv.URL + "/downgrade"); !errors.Is(err, redirect.ErrRefused) || plainHits.Load() != 0 {
		t.Fatalf("downgrade: %v, %d requests to the http target", err, plainHits.Load())
	}
	if err := get(tlsSrv.URL + "/loop"); !errors.Is(err, redirect.ErrRefused) || n.Load() != redirect.Max {
		t.Fatalf("loop: %v after %d redirects", err, n.Load())
	}
	// Plain http to another origin (another port): followed, without the token.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/got", http.StatusTemporaryRedirect)
	}))
	defer other.Close()
	c = &http.Client{CheckRedirect: redirect.Check}
	if err := get(other.URL); err != nil || plainHits.Load() != 1 || otherAuth.Load() != "" {
		t.Fatalf("cross-origin: %v, %d requests, Authorization %q", err, plainHits.Load(), otherAuth.Load())
	}
}
