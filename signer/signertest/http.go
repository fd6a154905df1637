package signertest

import (
	"io"
	"log"
	"net/http"
	"net/url"
	"sync/atomic"
)

func counting(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

func discard() *log.Logger { return log.New(io.Discard, "", 0) }

func parseURL(s string) ([]*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	return []*url.URL{u}, nil
}
