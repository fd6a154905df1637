package redirect

import (
	"errors"
	"fmt"
	"net/http"
)

// Max is the most redirects a request may follow, as cosign's CLI and Go's
// default client allow.
const Max = 10

// ErrRefused is wrapped by every redirect Check refuses.
var ErrRefused = errors.New("redirect refused")

// Check is an http.Client CheckRedirect: it stops after Max redirects,
// never follows one from https to anything else, and removes the
// Authorization and Cookie headers (an OIDC token for Fulcio, a key
// server's credentials) from a request to an origin (scheme, host, port)
// other than the first request's.
func Check(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	prev, first := via[len(via)-1], via[0]
	switch {
	case len(via) >= Max:
		return fmt.Errorf("%w: stopped after %d redirects", ErrRefused, Max)
	case prev.URL.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: from https to %s (%s://%s): a downgrade is never followed", ErrRefused, req.URL.Scheme, req.URL.Scheme, req.URL.Host)
	}
	if Origin(req) != Origin(first) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return nil
}

// Origin is scheme://host:port of a request, the port made explicit.
func Origin(req *http.Request) string {
	port := req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	return req.URL.Scheme + "://" + req.URL.Hostname() + ":" + port
}
