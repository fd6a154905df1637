package signertest

import (
	"io"
	"log"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
)

func counting(h http.Handler, n *atomic.Int64, l *requestLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if l != nil {
			l.add(r.Method + " " + r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}

// requestLog records requests as "METHOD /path", in the order served.
type requestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, s)
}

func (l *requestLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

func discard() *log.Logger { return log.New(io.Discard, "", 0) }

func parseURL(s string) ([]*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	return []*url.URL{u}, nil
}
