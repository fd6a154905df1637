package keyref

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/redirect"
)

// TestOpenBounded: /dev/zero as a key fails at once with the limit named;
// a key URL redirecting from https to http is refused.
func TestOpenBounded(t *testing.T) {
	start := time.Now()
	_, _, err := Open(t.Context(), "/dev/zero")
	if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "4 MiB") {
		t.Fatalf("/dev/zero: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("/dev/zero took %v", d)
	}
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		plainHits.Add(1)
		w.Write([]byte("-----BEGIN PUBLIC KEY-----\n"))
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/cosign.pub", http.StatusFound)
	}))
	defer tlsSrv.Close()
	saved := keyClient
	defer func() { keyClient = saved }()
	keyClient = tlsSrv.Client()
	keyClient.CheckRedirect = redirect.Check
	_, _, err = Open(t.Context(), tlsSrv.URL+"/cosign.pub")
	if !errors.Is(err, redirect.ErrRefused) || plainHits.Load() != 0 {
		t.Fatalf("https→http key URL: %v, %d requests to the http target", err, plainHits.Load())
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 1 << 30 / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer big.Close()
	keyClient = saved
	if _, _, err := Open(t.Context(), big.URL+"/cosign.pub"); !errors.Is(err, limits.ErrTooLarge) {
		t.Fatalf("endless key URL: %v", err)
	}
}
