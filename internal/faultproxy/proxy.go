// Package faultproxy is a reverse proxy for tests and benchmarks: it sits in
// front of a registry (or any HTTP service) on 127.0.0.1, counts requests,
// and can inject transient faults — 429/500/502/503 answers, with and without
// Retry-After, and connection resets — on a chosen fraction of requests.
package faultproxy

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
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
)

// AllFaults lists every fault kind.
var AllFaults = []Fault{TooManyRequests, TooManyRetryAfter, InternalServerError, BadGateway, Unavailable, UnavailableRetry, Reset}

// Options configure a Proxy.
type Options struct {
	// Rate is the fraction of requests that get a fault, 0 to 1.
	Rate float64
	// Faults are the kinds injected; nil means AllFaults.
	Faults []Fault
	// Seed makes the fault sequence repeatable.
	Seed uint64
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
	Method string
	Path   string
	Fault  Fault // "" when forwarded
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
	p.rp.ErrorLog = nil
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
	if p.opts.Rate > 0 && p.rng.Float64() < p.opts.Rate {
		f = p.opts.Faults[p.rng.IntN(len(p.opts.Faults))]
		p.faults++
	}
	p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, Fault: f})
	return f
}

// ServeHTTP forwards r, or injects a fault.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f := p.pick(r); f {
	case "":
		r.Host = p.upstream.Host
		p.rp.ServeHTTP(w, r)
	case Reset:
		reset(w)
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
