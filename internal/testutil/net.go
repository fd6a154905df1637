package testutil

import (
	"net"
	"testing"
)

// ClosedAddr returns a 127.0.0.1 HOST:PORT nothing listens on (just
// now): a listener is opened on a free port and closed again.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// ClosedURL is ClosedAddr as an http:// URL.
func ClosedURL(t testing.TB) string { return "http://" + ClosedAddr(t) }

// FreePort is the port of ClosedAddr.
func FreePort(t testing.TB) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ClosedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return port
}
