package registry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
		{now.Add(2 * time.Second).Format(http.TimeFormat), 2 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), -time.Minute, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

type answers struct {
	mu    sync.Mutex
	codes []int
	after string
}

func (a *answers) RoundTrip(*http.Request) (*http.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	code := a.codes[0]
	if len(a.codes) > 1 {
		a.codes = a.codes[1:]
	}
	h := http.Header{}
	if a.after != "" {
		h.Set("Retry-After", a.after)
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// TestRetryAfterHoldsBack checks which answers are held back, and for how
// long, at the RoundTripper itself.
func TestRetryAfterHoldsBack(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		after    string
		min, max time.Duration
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "1", time.Second, 3 * time.Second},
		{"503 with Retry-After", http.StatusServiceUnavailable, "1", time.Second, 3 * time.Second},
		{"429 without", http.StatusTooManyRequests, "", 0, 500 * time.Millisecond},
		{"500 with Retry-After", http.StatusInternalServerError, "1", 0, 500 * time.Millisecond},
		{"200 with Retry-After", http.StatusOK, "1", 0, 500 * time.Millisecond},
		{"over the bound: passed on at once", http.StatusTooManyRequests, "3600", 0, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := retryAfter{next: &answers{codes: []int{tt.code}, after: tt.after}, max: MaxRetryAfter, now: time.Now}
			req := httptestRequest(t, context.Background())
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			took := time.Since(start)
			if err != nil || resp.StatusCode != tt.code {
				t.Fatalf("RoundTrip = %v, %v; want the %d answer", resp, err, tt.code)
			}
			resp.Body.Close()
			if took < tt.min || took > tt.max {
				t.Errorf("took %v, want between %v and %v", took, tt.min, tt.max)
			}
		})
	}
}

func TestRetryAfterCancelled(t *testing.T) {
	rt := retryAfter{next: &answers{codes: []int{http.StatusTooManyRequests}, after: "5"}, max: MaxRetryAfter, now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := rt.RoundTrip(httptestRequest(t, ctx)); err == nil {
		t.Fatal("want the context's error")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a cancelled request waited %v", took)
	}
}

func httptestRequest(t *testing.T, ctx context.Context) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://registry.test/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRemoteOptionsHonourRetryAfter runs a push and a read through
// RemoteOptions against a registry that answers the first manifest request
// 429 with Retry-After: 1 (and the first blob check 503 with Retry-After: 1):
// each is retried no sooner than a second later, and the calls succeed.
func TestRemoteOptionsHonourRetryAfter(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	seen := map[string][]time.Time{} // by method and path
	faulted := map[string]string{}   // kind -> the method and path that got the fault
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, k := r.Method+" "+r.URL.Path, r.Method+" "+kind(r.URL.Path)
		mu.Lock()
		seen[key] = append(seen[key], time.Now())
		_, done := faulted[k]
		if !done && (k == "HEAD manifests" || k == "HEAD blobs") {
			faulted[k] = key
		}
		mu.Unlock()
		if !done && (k == "HEAD manifests" || k == "HEAD blobs") {
			w.Header().Set("Retry-After", "1")
			code := http.StatusTooManyRequests
			if k == "HEAD blobs" {
				code = http.StatusServiceUnavailable
			}
			w.WriteHeader(code)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := New(Config{Insecure: []string{host}})
	tag, err := r.ParseTag(host + "/group/app:1")
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushRandom(t, tag, r.RemoteOptions(t.Context())...)
	if _, err := remote.Head(tag, r.RemoteOptions(t.Context())...); err != nil {
		t.Fatalf("head: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{"HEAD manifests", "HEAD blobs"} {
		key := faulted[k]
		times := seen[key]
		if len(times) < 2 {
			t.Fatalf("%s: %d requests, want a retry", key, len(times))
		}
		if gap := times[1].Sub(times[0]); gap < time.Second {
			t.Errorf("%s retried after %v, before Retry-After: 1 had passed", key, gap)
		}
	}
}

func kind(path string) string {
	switch {
	case strings.Contains(path, "/manifests/"):
		return "manifests"
	case strings.Contains(path, "/blobs/uploads"):
		return "uploads"
	case strings.Contains(path, "/blobs/"):
		return "blobs"
	}
	return path
}
