// Package faultproxy is a reverse proxy for tests and benchmarks: it sits in
// front of a registry (or any HTTP service) on 127.0.0.1, counts requests,
// and can inject transient faults — 429/500/502/503 answers, with and without
// Retry-After, and connection resets — on a chosen fraction of requests, and
// hold chosen requests back to slow a service down.
package faultproxy

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is one kind of injected failure.
type Fault string

// The faults the proxy injects, chosen uniformly among those enabled.
const (
	TooManyRequests     Fault = "429"
	TooManyRetryAfter   Fault = "429+retry-after"
	InternalServerError Fault = "500"
	BadGateway          Fault = "502"
	Unavailable         Fault = "503"
	UnavailableRetry    Fault = "503+retry-after"
	Reset               Fault = "reset"
	// LostAnswer forwards the request, then resets the connection instead
	// of answering: the service acted, the client cannot know. Not in
	// AllFaults; name it in Options.Faults.
	LostAnswer Fault = "lost-answer"
	// Refused answers 403 DENIED, as a registry refusing a write does.
	Refused Fault = "refused"
	// UploadUnknown answers 404 BLOB_UPLOAD_UNKNOWN, as a registry that
	// lost (or never had) the upload session does.
	UploadUnknown Fault = "blob-upload-unknown"
)

// AllFaults lists the fault kinds injected by default: every kind but
// LostAnswer.
var AllFaults = []Fault{TooManyRequests, TooManyRetryAfter, InternalServerError, BadGateway, Unavailable, UnavailableRetry, Reset}

// Options configure a Proxy.
type Options struct {
	// Rate is the fraction of requests that get a fault, 0 to 1.
	Rate float64
	// Faults are the kinds injected; nil means AllFaults.
	Faults []Fault
	// Seed makes the fault sequence repeatable.
	Seed uint64
	// Delay, when set, holds each request back for the duration it returns
	// before forwarding it; a request whose client goes away meanwhile is
	// never forwarded. Faults are injected without delay.
	Delay func(*http.Request) time.Duration
	// Pick, when set, chooses the fault of each request before the random
	// ones: a request it returns a Fault for gets that fault (not counted
	// in Faults), one it returns "" for goes on to Rate. Tests use it to
	// fail given requests: refuse signature writes, lose an upload.
	Pick func(*http.Request) Fault
}

// Proxy forwards to one upstream, records every request, and injects
// faults at the configured rate. It is safe for concurrent use.
type Proxy struct {
	upstream *url.URL
	rp       *httputil.ReverseProxy
	opts     Options

	mu       sync.Mutex
	rng      *rand.Rand
	requests []Request
	faults   int
}

// Request is one request the proxy saw.
type Request struct {
	Method    string
	Path      string
	UserAgent string
	Fault     Fault // "" when forwarded
}

// New returns a proxy to upstream (e.g. "http://127.0.0.1:5000").
func New(upstream string, opts Options) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid upstream %q", upstream)
	}
	if opts.Faults == nil {
		opts.Faults = AllFaults
	}
	p := &Proxy{upstream: u, opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // an upstream that goes away is what tests do
	return p, nil
}

// SetRate changes the fault rate, e.g. to 0 to read results back cleanly.
func (p *Proxy) SetRate(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.Rate = rate
}

func (p *Proxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	var f Fault
	if p.opts.Pick != nil {
		if f := p.opts.Pick(r); f != "" {
			p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent(), Fault: f})
			return f
		}
	}
	if p.opts.Rate > 0 && p.rng.Float64() < p.opts.Rate {
		f = p.opts.Faults[p.rng.IntN(len(p.opts.Faults))]
		p.faults++
	}
	p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent(), Fault: f})
	return f
}

// ServeHTTP forwards r, or injects a fault.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f := p.pick(r); f {
	case "":
		if !p.hold(r) {
			reset(w)
			return
		}
		p.forward(w, r)
	case Reset:
		reset(w)
	case LostAnswer:
		p.forward(httptest.NewRecorder(), r)
		reset(w)
	case Refused:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
	case UploadUnknown:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}`)
	default:
		code := 0
		fmt.Sscanf(string(f), "%d", &code)
		if strings.HasSuffix(string(f), "+retry-after") {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected fault %s"}]}`, f)
	}
}

// forward passes r upstream. The upstream sees the proxy's address in
// X-Forwarded-Host, so a registry that answers with absolute upload
// locations (distribution) points the client back at the proxy.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	r.Header.Set("X-Forwarded-Host", r.Host)
	r.Header.Set("X-Forwarded-Proto", "http")
	r.Host = p.upstream.Host
	p.rp.ServeHTTP(w, r)
}

// hold waits for Options.Delay; false when the client went away first.
func (p *Proxy) hold(r *http.Request) bool {
	if p.opts.Delay == nil {
		return true
	}
	d := p.opts.Delay(r)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// reset closes the client connection without an answer (a TCP RST where the
// platform allows it).
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Requests returns the requests seen so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Faults returns how many faults were injected.
func (p *Proxy) Faults() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Reset forgets the requests seen so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests, p.faults = nil, 0
}

// Serve listens on 127.0.0.1 (a free port) and serves until the returned
// stop function is called. It returns the proxy's host:port.
func (p *Proxy) Serve() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: p}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return l.Addr().String(), func() { srv.Close() }, nil
}
