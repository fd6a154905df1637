package registry

import (
	"errors"
	"fmt"
	"net/http"
)

// MaxRedirects is the most redirects one registry request may follow, as
// cosign's CLI (and Go's default client) allow. go-containerregistry's
// clients replace Go's redirect policy with an SSRF check that sets no
// limit: a registry answering 307 to ever-new paths kept a request going
// for minutes, its memory growing with the chain.
const MaxRedirects = 10

// ErrRedirect is wrapped by every redirect redirects refuses.
var ErrRedirect = errors.New("redirect refused")

// redirects bounds and checks the redirects a request follows. http.Client
// follows them above the transport, but hands each hop to it with
// Request.Response set to the answer that redirected it, so the chain is
// known here. It refuses a hop past MaxRedirects and any hop from https to
// plain http, and it never lets a credential (Authorization, Cookie) go to
// an origin other than the first request's: go-containerregistry's auth
// transports add theirs on every hop to the registry's host.
type redirects struct {
	next http.RoundTripper
}

func (t redirects) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil {
		return t.next.RoundTrip(req)
	}
	first, hops := req, 0
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
		hops++
	}
	prev := req.Response.Request
	switch {
	case hops > MaxRedirects:
		return nil, fmt.Errorf("%w: %s %s stopped after %d redirects (last to %s)", ErrRedirect, first.Method, redactURL(first), MaxRedirects, redactURL(req))
	case prev != nil && prev.URL.Scheme == "https" && req.URL.Scheme != "https":
		return nil, fmt.Errorf("%w: %s redirected from https to %s (%s): a downgrade is never followed", ErrRedirect, redactURL(prev), req.URL.Scheme, redactURL(req))
	}
	if origin(req) != origin(first) && (req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != "") {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return t.next.RoundTrip(req)
}

// origin is scheme://host:port of a request.
func origin(req *http.Request) string {
	port := req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	return req.URL.Scheme + "://" + req.URL.Hostname() + ":" + port
}

// redactURL is a request's URL without its query (upload locations and
// storage redirects carry signed tokens there).
func redactURL(req *http.Request) string {
	u := *req.URL
	u.RawQuery, u.User = "", nil
	return u.String()
}
