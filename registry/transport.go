package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// ErrPlainHTTP reports a plain-HTTP request to a registry not named
// insecure: the user's choice to make (Config.Insecure), not a registry
// failure.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// tlsOnly refuses plain-HTTP requests to hosts not named insecure.
// go-containerregistry falls back to HTTP by itself for loopback and
// private-range registries; hallmark allows that only when asked.
type tlsOnly struct {
	insecure []string
	next     http.RoundTripper
}

func (t tlsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !slices.Contains(t.insecure, req.URL.Host) {
		return nil, fmt.Errorf("%w to %s: use TLS, or name the registry with {registry.Config.Insecure} %s", ErrPlainHTTP, req.URL.Host, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

// newResponse is an answer made here rather than by the registry: a
// remembered one, or one standing in for a request not sent.
func newResponse(req *http.Request, status int, header http.Header, body []byte) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
