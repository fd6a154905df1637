package signer_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// staleWriteProxy forwards to a registry and, on signer B's first write of a
// manifest by tag (the signature tag or the fallback index, both written
// after an unchanged-check), runs signer A to the end while B's write is
// held, then makes B's write fail: with a 503 and Retry-After, not
// applied; or, lostAnswer, applied and its answer lost (connection reset).
// A transport that resends B's write then stores B's stale manifest over
// A's signature.
type staleWriteProxy struct {
	rp         *httputil.ReverseProxy
	lostAnswer bool
	runA       func()

	mu   sync.Mutex
	done bool
}

func (p *staleWriteProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || !strings.HasPrefix(r.UserAgent(), "signer-b") || !isTagWrite(r.URL.Path) || !p.first() {
		p.rp.ServeHTTP(w, r)
		return
	}
	if p.lostAnswer {
		p.rp.ServeHTTP(httptest.NewRecorder(), r)
	}
	p.runA()
	if p.lostAnswer {
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}
		return
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
}

func (p *staleWriteProxy) first() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.done = true
	return true
}

// isTagWrite says whether path is /v2/<name>/manifests/<tag> (not a digest).
func isTagWrite(path string) bool {
	_, ref, ok := strings.Cut(path, "/manifests/")
	return ok && !strings.Contains(ref, ":")
}

// TestStaleWriteNotResent: a transient failure of a conditional manifest
// write (a 503 with Retry-After, or an answer lost after the registry
// applied it) must never lead to the same body being sent again later —
// by then another signer may have written and confirmed its signature,
// which the stale body drops. Both signers must end with their signature
// stored, in both layouts written after an unchanged-check.
func TestStaleWriteNotResent(t *testing.T) {
	for _, mode := range []signer.Mode{signer.ModeLegacy, signer.ModeOCI11} {
		for _, lost := range []bool{false, true} {
			sub := string(mode) + "/503-retry-after"
			if lost {
				sub = string(mode) + "/lost-answer"
			}
			t.Run(sub, func(t *testing.T) {
				upstream := signertest.NewRegistry(t, false)
				u, _ := url.Parse("http://" + upstream.Host)
				p := &staleWriteProxy{rp: httputil.NewSingleHostReverseProxy(u), lostAnswer: lost}
				host, d, orig := imageBehind(t, upstream, p)
				sa := regSigner(t, host, "signer-a", mode)
				sb := regSigner(t, host, "signer-b", mode)
				var errA error
				ranA := false
				p.runA = func() {
					ranA = true
					_, errA = sa.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": "a"})
				}
				if _, err := sb.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": "b"}); err != nil {
					t.Fatalf("signer b: %v", err)
				}
				if !ranA {
					t.Fatal("signer b wrote no manifest by tag")
				}
				if errA != nil {
					t.Fatalf("signer a: %v", errA)
				}
				l, r := stored(t, upstream, orig)
				if mode == signer.ModeLegacy && l != 2 || mode == signer.ModeOCI11 && r != 2 {
					t.Fatalf("signatures kept: legacy %d, referrers %d; want 2 (a signer's signature was lost)", l, r)
				}
			})
		}
	}
}

// regSigner is a keyed signer using hallmark's registry transport, with
// its own user agent.
func regSigner(t *testing.T, host, ua string, mode signer.Mode) *signer.Signer {
	t.Helper()
	return regSignerFormat(t, host, ua, mode, false)
}

// regSignerFormat is regSigner writing bundles too when bundle is set.
func regSignerFormat(t *testing.T, host, ua string, mode signer.Mode, bundle bool) *signer.Signer {
	t.Helper()
	reg := registry.New(registry.Config{Insecure: []string{host}, UserAgent: ua})
	kp := signertest.Keys(t, "a")
	s, err := signer.New(context.Background(), signer.Options{
		RemoteOptions: reg.RemoteOptions(context.Background()), ShortestRoundTrip: reg.ShortestRoundTrip,
		Mode: mode, Bundle: bundle, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
