package registry

import (
	"crypto/tls"
	"net/http"
	"slices"
)

// skipVerify sends requests to the hosts named in
// Config.SkipTLSVerify through a transport that does not verify their TLS
// certificates, and every other request through next, which does. It
// exists only when hosts are named and the base transport is an
// *http.Transport it can clone.
type skipVerify struct {
	hosts      []string
	next       http.RoundTripper
	unverified http.RoundTripper
}

// newSkipVerify returns t, or t wrapped to skip TLS verification for
// hosts; ok is false when hosts are named but t cannot be cloned.
func newSkipVerify(t http.RoundTripper, hosts []string) (rt http.RoundTripper, ok bool) {
	if len(hosts) == 0 {
		return t, true
	}
	ht, isHTTP := t.(*http.Transport)
	if !isHTTP {
		return t, false
	}
	u := ht.Clone()
	if u.TLSClientConfig == nil {
		u.TLSClientConfig = &tls.Config{}
	}
	u.TLSClientConfig.InsecureSkipVerify = true // asked for by name, for these hosts only
	return skipVerify{hosts: hosts, next: t, unverified: u}, true
}

func (s skipVerify) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && slices.Contains(s.hosts, req.URL.Host) {
		return s.unverified.RoundTrip(req)
	}
	return s.next.RoundTrip(req)
}
