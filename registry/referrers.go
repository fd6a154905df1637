package registry

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// referrersMemo remembers, per registry, that it has no OCI 1.1 referrers
// API: once GET /v2/<name>/referrers/<digest> got 404 — which the
// distribution spec reserves for registries without the API — every later
// referrers request to that registry gets the same 404 from memory.
// go-containerregistry asks again before each referrers listing and after
// each manifest with a subject it puts ("TODO: This should be done once per
// registry, not once per subject"), and a registry does not gain the API
// within one invocation.
type referrersMemo struct {
	next http.RoundTripper

	mu   sync.Mutex
	none map[string]answer // by scheme://host: the 404 it gave
}

type answer struct {
	header http.Header
	body   []byte
}

func newReferrersMemo(next http.RoundTripper) *referrersMemo {
	return &referrersMemo{next: next, none: map[string]answer{}}
}

func isReferrers(req *http.Request) bool {
	if req.Method != http.MethodGet || !strings.HasPrefix(req.URL.Path, "/v2/") {
		return false
	}
	name, digest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/referrers/")
	return ok && name != "" && strings.HasPrefix(digest, "sha256:") && !strings.Contains(digest, "/")
}

func (m *referrersMemo) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isReferrers(req) {
		return m.next.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	m.mu.Lock()
	a, known := m.none[key]
	m.mu.Unlock()
	if known {
		return newResponse(req, http.StatusNotFound, a.header.Clone(), a.body), nil
	}
	resp, err := m.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.none[key] = answer{header: resp.Header.Clone(), body: body}
	m.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
