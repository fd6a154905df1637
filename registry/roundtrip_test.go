package registry

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// TestShortestRoundTrip pushes and reads an image through a proxy that
// holds every request back: the shortest round trip recorded for the
// registry is at least that long, and nothing is recorded for a host not
// reached.
func TestShortestRoundTrip(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(ggcrregistry.New())
	defer srv.Close()
	tests := []struct {
		name string
		hold time.Duration
	}{
		{"loopback", 0},
		{"held back 30ms", 30 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := faultproxy.New(srv.URL, faultproxy.Options{Delay: func(*http.Request) time.Duration { return tt.hold }})
			if err != nil {
				t.Fatal(err)
			}
			front := httptest.NewServer(p)
			defer front.Close()
			host := strings.TrimPrefix(front.URL, "http://")
			r := New(Config{Insecure: []string{host}})
			if got := r.ShortestRoundTrip(host); got != 0 {
				t.Fatalf("before any request: %v, want 0", got)
			}
			tag, err := r.ParseTag(host + "/group/app:1")
			if err != nil {
				t.Fatal(err)
			}
			testutil.PushRandom(t, tag, r.RemoteOptions(t.Context())...)
			if _, err := remote.Head(tag, r.RemoteOptions(t.Context())...); err != nil {
				t.Fatal(err)
			}
			got := r.ShortestRoundTrip(host)
			if got <= 0 || got < tt.hold {
				t.Errorf("shortest round trip %v after requests held back %v", got, tt.hold)
			}
			if other := r.ShortestRoundTrip("registry.invalid:5000"); other != 0 {
				t.Errorf("a host never reached: %v, want 0", other)
			}
		})
	}
}
