package registry

import (
	"net/http"
	"sync"
	"time"
)

// roundTrips remembers, per registry host, the shortest round trip any
// request took (from sending it to its response's headers): the network's
// and the registry's share of a request, without the waits a busy machine
// adds to some of them.
type roundTrips struct {
	next http.RoundTripper
	mu   sync.Mutex
	min  map[string]time.Duration
}

func newRoundTrips(next http.RoundTripper) *roundTrips {
	return &roundTrips{next: next, min: map[string]time.Duration{}}
}

func (t *roundTrips) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	d := time.Since(start)
	t.mu.Lock()
	if cur, ok := t.min[req.URL.Host]; !ok || d < cur {
		t.min[req.URL.Host] = d
	}
	t.mu.Unlock()
	return resp, nil
}

// shortest returns the shortest round trip seen to host, 0 before any.
func (t *roundTrips) shortest(host string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.min[host]
}
