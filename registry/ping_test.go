package registry

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestOnePingPerRegistry: calls that each make their own puller or pusher
// (as hallmark's stages do) ping the registry once in all.
func TestOnePingPerRegistry(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var pings, requests atomic.Int64
	reg := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/v2/" {
			pings.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := New(Config{Insecure: []string{host}})
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag, err := r.ParseTag(host + "/group/app" + string(rune('a'+i)) + ":1")
			if err != nil {
				t.Error(err)
				return
			}
			if err := remote.Write(tag, img, r.RemoteOptions(t.Context())...); err != nil {
				t.Error(err)
			}
			if _, err := remote.Head(tag, r.RemoteOptions(t.Context())...); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := pings.Load(); n != 1 {
		t.Errorf("%d pings in %d requests, want 1", n, requests.Load())
	}
}

// TestPingCacheKeepsOnlyAnswers: a 401 challenge is remembered (auth still
// works from it); an error answer is not.
func TestPingCacheKeepsOnlyAnswers(t *testing.T) {
	var pings atomic.Int64
	status := atomic.Int64{}
	status.Store(http.StatusInternalServerError)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings.Add(1)
		if status.Load() == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	c := newPingCache(http.DefaultTransport)
	get := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get()
	get()
	if n := pings.Load(); n != 2 {
		t.Fatalf("500 answers: %d pings, want 2 (not remembered)", n)
	}
	status.Store(http.StatusUnauthorized)
	get()
	resp := get()
	if n := pings.Load(); n != 3 {
		t.Fatalf("401 answers: %d pings, want 3 (the first 401 remembered)", n)
	}
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="test"` {
		t.Errorf("remembered answer %d %v, want the 401 with its challenge", resp.StatusCode, resp.Header)
	}
	// Authenticated requests and other paths are never answered from memory.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Basic eDp5")
	if resp, err := c.RoundTrip(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if n := pings.Load(); n != 4 {
		t.Errorf("authenticated GET /v2/: %d requests, want 4", n)
	}
}
