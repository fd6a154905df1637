package registry

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// pingCache answers a registry's ping — an unauthenticated GET /v2/ — from
// memory once the registry has answered it, for the life of the Registry.
// go-containerregistry pings before the first request of every puller,
// pusher and repository, to learn whether and how to authenticate; that
// does not change within one invocation, so hallmark's stages (sign and
// verify, each digest of a multi-digest sign) share one ping per registry
// and scheme. Only answers ggcr acts on are kept (200, and 401 with its
// challenge); errors and other answers are not, so those pings go out again.
// Concurrent first pings wait for the one in flight.
type pingCache struct {
	next http.RoundTripper

	mu   sync.Mutex
	seen map[string]*ping // by scheme://host
}

type ping struct {
	done   chan struct{}
	ok     bool // answered 200 or 401
	status int
	header http.Header
	body   []byte
}

func newPingCache(next http.RoundTripper) *pingCache {
	return &pingCache{next: next, seen: map[string]*ping{}}
}

func isPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.URL.RawQuery == "" && req.Header.Get("Authorization") == ""
}

func (c *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isPing(req) {
		return c.next.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	c.mu.Lock()
	p, found := c.seen[key]
	if !found {
		p = &ping{done: make(chan struct{})}
		c.seen[key] = p
	}
	c.mu.Unlock()
	if found {
		select {
		case <-p.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if p.ok {
			return p.response(req), nil
		}
		return c.next.RoundTrip(req)
	}
	resp, err := c.next.RoundTrip(req)
	defer close(p.done)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		c.forget(key, p)
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		c.forget(key, p)
		return nil, err
	}
	p.ok, p.status, p.header, p.body = true, resp.StatusCode, resp.Header.Clone(), body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// forget drops a ping that got no usable answer, so the next one goes out.
func (c *pingCache) forget(key string, p *ping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] == p {
		delete(c.seen, key)
	}
}

// response is a copy of the remembered answer for req.
func (p *ping) response(req *http.Request) *http.Response {
	return newResponse(req, p.status, p.header.Clone(), p.body)
}
