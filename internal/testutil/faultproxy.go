package testutil

import (
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
)

// FaultProxy serves a fault-injecting proxy in front of upstream until the
// test ends, and returns it, its host:port and a function that stops it
// sooner.
func FaultProxy(t testing.TB, upstream string, opts faultproxy.Options) (p *faultproxy.Proxy, addr string, stop func()) {
	t.Helper()
	p, err := faultproxy.New(upstream, opts)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err = p.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return p, addr, stop
}
