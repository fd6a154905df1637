package registry

import (
	"fmt"
	"net/http"
	"slices"
)

// tlsOnly refuses plain-HTTP requests to hosts not named insecure.
// go-containerregistry falls back to HTTP by itself for loopback and
// private-range registries; hallmark allows that only when asked.
type tlsOnly struct {
	insecure []string
	next     http.RoundTripper
}

func (t tlsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !slices.Contains(t.insecure, req.URL.Host) {
		return nil, fmt.Errorf("plain HTTP to %s refused: use TLS, or name the registry with --insecure-registry %s", req.URL.Host, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}
