package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// hostile serves /v2/ as a registry without auth would and everything
// else with h, counting requests.
func hostile(t *testing.T, h http.HandlerFunc) (host string, requests *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestRedirectLoops: a registry answering 307 to ever-new paths, or
// ping-ponging between two, ends the request after MaxRedirects hops,
// with ErrRedirect, at once (go-containerregistry's clients alone follow
// them forever).
func TestRedirectLoops(t *testing.T) {
	for _, tt := range []struct {
		name string
		to   func(r *http.Request, i int64) string
	}{
		{"ever-new", func(_ *http.Request, i int64) string { return fmt.Sprintf("/v2/app/manifests/r%d", i) }},
		{"ping-pong", func(r *http.Request, _ int64) string {
			if strings.HasSuffix(r.URL.Path, "/ping") {
				return "/v2/app/manifests/pong"
			}
			return "/v2/app/manifests/ping"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			host, reqs := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.to(r, n.Add(1)), http.StatusTemporaryRedirect)
			})
			reg := New(Config{Insecure: []string{host}})
			start := time.Now()
			for _, op := range []func(name.Reference, ...remote.Option) error{
				func(ref name.Reference, o ...remote.Option) error { _, err := remote.Get(ref, o...); return err },
				func(ref name.Reference, o ...remote.Option) error { _, err := remote.Head(ref, o...); return err },
			} {
				reqs.Store(0)
				err := op(mustRef(t, host+"/app:latest"), reg.RemoteOptions(t.Context())...)
				if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "stopped after 10 redirects") {
					t.Fatalf("got %v, want a redirect error", err)
				}
				if got := reqs.Load(); got > MaxRedirects+1 {
					t.Fatalf("%d requests, want at most %d", got, MaxRedirects+1)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// TestRedirectDowngradeRefused: an https registry redirecting to plain
// http (same host, another port) is never followed.
func TestRedirectDowngradeRefused(t *testing.T) {
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plainHits.Add(1) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer tlsSrv.Close()
	host := strings.TrimPrefix(tlsSrv.URL, "https://")
	reg := New(Config{Insecure: []string{strings.TrimPrefix(plain.URL, "http://")}, Transport: tlsSrv.Client().Transport})
	ref, err := name.ParseReference(host + "/app:latest")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Get(ref, reg.RemoteOptions(t.Context())...)
	if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "downgrade") {
		t.Fatalf("got %v, want a refused downgrade", err)
	}
	if plainHits.Load() != 0 {
		t.Fatalf("the plain-HTTP target got %d requests", plainHits.Load())
	}
}

// TestRedirectDropsCredentials: after a redirect to another origin (here
// the same address on another port, which Go's client treats as the same
// host) no Authorization or Cookie header goes out; within the origin it
// does.
func TestRedirectDropsCredentials(t *testing.T) {
	var got atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("Cookie"))
	}))
	defer other.Close()
	var sameOrigin atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/again", http.StatusTemporaryRedirect)
		case "/again":
			sameOrigin.Store(r.Header.Get("Authorization"))
			http.Redirect(w, r, other.URL+"/blob", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	reg := New(Config{Insecure: []string{strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(other.URL, "http://")}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/start", nil)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Cookie", "session=secret")
	resp, err := (&http.Client{Transport: reg.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sameOrigin.Load() != "Bearer secret" {
		t.Fatalf("same-origin hop got Authorization %q", sameOrigin.Load())
	}
	if got.Load() != "|" {
		t.Fatalf("other origin got credentials %q", got.Load())
	}
}

// TestSlowRegistry: a registry that never sends headers, or trickles its
// body, ends the request after the configured timeouts with a
// *TimeoutError; a slow body that keeps moving is not cut.
func TestSlowRegistry(t *testing.T) {
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`
	for _, tt := range []struct {
		name  string
		every time.Duration // between body bytes; 0: never send headers
		stage string        // "" when it must succeed
	}{
		{"no-headers", 0, "response headers"},
		{"trickle", 2 * time.Second, "response body"},
		{"slow-but-moving", 20 * time.Millisecond, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stop := make(chan struct{})
			defer close(stop)
			host, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.every == 0 {
					select {
					case <-stop:
					case <-r.Context().Done():
					}
					return
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
				w.WriteHeader(http.StatusOK)
				for i := range len(manifest) {
					if r.Method == http.MethodHead {
						return
					}
					io.WriteString(w, manifest[i:i+1])
					w.(http.Flusher).Flush()
					select {
					case <-time.After(tt.every):
					case <-stop:
						return
					case <-r.Context().Done():
						return
					}
				}
			})
			reg := New(Config{Insecure: []string{host}, ResponseHeaderTimeout: 500 * time.Millisecond, BodyIdleTimeout: 500 * time.Millisecond})
			start := time.Now()
			_, err := remote.Get(mustRef(t, host+"/app:latest"), reg.RemoteOptions(t.Context())...)
			d := time.Since(start)
			var te *TimeoutError
			switch {
			case tt.stage == "" && err != nil:
				t.Fatalf("slow but moving: %v", err)
			case tt.stage != "" && (!errors.As(err, &te) || te.Stage != tt.stage):
				t.Fatalf("got %v, want a timeout on the %s", err, tt.stage)
			case tt.stage != "" && d > 10*time.Second:
				t.Fatalf("took %v", d)
			}
			t.Logf("%v after %v", err, d.Round(time.Millisecond))
		})
	}
}

// TestResponseSizeLimits: a manifest past 4 MiB, and a blob past its limit
// (declared by Content-Length, or sent without one), fail with a
// *limits.TooLargeError naming the limit, without being read whole.
func TestResponseSizeLimits(t *testing.T) {
	const digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	host, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write([]byte(`{"schemaVersion":2,`))
			chunk := []byte(strings.Repeat(" ", 64<<10))
			for range 5 << 20 / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case strings.HasSuffix(r.URL.Path, "/lying"):
			w.Header().Set("Content-Length", fmt.Sprint(int64(4)<<30))
			w.WriteHeader(http.StatusOK)
		default:
			chunk := make([]byte, 64<<10)
			for range 1 << 30 / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	})
	reg := New(Config{Insecure: []string{host}, MaxBlobBytes: 1 << 20})
	_, err := remote.Get(mustRef(t, host+"/app:latest"), reg.RemoteOptions(t.Context())...)
	if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "limit of 4 MiB") {
		t.Fatalf("manifest: got %v", err)
	}
	c := &http.Client{Transport: reg.Transport()}
	for _, path := range []string{"/v2/app/blobs/" + digest, "/v2/app/blobs/lying"} {
		start := time.Now()
		resp, err := c.Get("http://" + host + path)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "limit of 1 MiB") {
			t.Fatalf("%s: got %v", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s: took %v", path, d)
		}
	}
}
