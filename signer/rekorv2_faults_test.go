package signer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer"
)

// TestE2ERekorV2LostAnswer: the bed's Rekor v2 appends the first entry
// POST but its answer is lost (the fault proxy resets the connection);
// the signer resends, Rekor answers 409 with the entry's index, and the
// signer rebuilds the entry with its inclusion proof from the log's tiles.
// The sign succeeds, one bundle is stored, and cosign v3.1 verifies it
// with every check on. The log's tiles are read from the bed's Rekor v2,
// which serves them at its URL as public-good's logs do.
func TestE2ERekorV2LostAnswer(t *testing.T) {
	bed := requireRekorV2(t)
	bed.RequireCosign3(t)
	tiles := rekorTiles(t, bed)
	lossy, lossyAddr, _ := testutil.FaultProxy(t, bed.RekorURL, faultproxy.Options{Rate: 1, Faults: []faultproxy.Fault{faultproxy.LostAnswer}})
	clean, cleanAddr, _ := testutil.FaultProxy(t, bed.RekorURL, faultproxy.Options{})
	var posts atomic.Int32
	rekor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && posts.Add(1) == 1:
			proxyTo(w, r, lossyAddr)
		case r.Method == http.MethodPost:
			proxyTo(w, r, cleanAddr)
		default:
			tiles.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(rekor.Close)

	reg := bed.Registries[1]
	ctx := t.Context()
	d := reg.Image(t, "hallmark-e2e/rekor-lost-answer")
	s := rekorV2Signer(t, bed, reg, rekor.URL, nil)
	if _, err := s.Sign(ctx, signer.Subject{Digest: d}, map[string]string{"tag": "e2e"}); err != nil {
		t.Fatalf("sign after a lost Rekor answer: %v", err)
	}
	if l, c := lossy.Requests(), clean.Requests(); len(l) != 1 || l[0].Fault != faultproxy.LostAnswer || len(c) != 1 {
		t.Fatalf("want one lost POST then one resend, got lossy %+v, clean %+v", l, c)
	}
	if got := len(bundleReferrers(t, reg, d)); got != 1 {
		t.Fatalf("%d bundles stored, want 1", got)
	}
	cosign3VerifyAll(ctx, t, bed, d)
}

// proxyTo forwards r to the proxy at addr and copies its answer; a reset
// upstream connection becomes a reset one here.
func proxyTo(w http.ResponseWriter, r *http.Request, addr string) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// TestE2ERekorV2DuplicateRefused: a 409 naming an entry that is not this
// signature's (here the log's first entry), or one the signer cannot
// check (no trusted root), fails the sign and stores nothing.
func TestE2ERekorV2DuplicateRefused(t *testing.T) {
	bed := requireRekorV2(t)
	tiles := rekorTiles(t, bed)
	rekor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("X-Log-Index", "0")
			http.Error(w, `{"code":6,"message":"an equivalent entry already exists in the transparency log with index 0"}`, http.StatusConflict)
			return
		}
		tiles.ServeHTTP(w, r)
	}))
	t.Cleanup(rekor.Close)
	tests := []struct {
		name        string
		trustedRoot string
		want        string
	}{
		{"another entry", bed.SigstoreTrustedRoot, "not this signature's"},
		{"no trusted root (TUF unreachable)", "", "no Rekor key to check it with"},
	}
	reg := bed.Registries[1]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir()) // the TUF cache
			ctx := t.Context()
			d := reg.Image(t, "hallmark-e2e/rekor-duplicate")
			s := rekorV2Signer(t, bed, reg, rekor.URL, func(o *signer.Options) {
				o.TrustedRoot, o.InsecureSkipSCT = tt.trustedRoot, tt.trustedRoot == ""
				o.TUFMirror, o.TUFRoot = "http://127.0.0.1:1", bed.SigstoreTrustedRoot
			})
			_, err := s.Sign(ctx, signer.Subject{Digest: d}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if got := len(bundleReferrers(t, reg, d)); got != 0 {
				t.Fatalf("%d bundles stored after a failed sign", got)
			}
		})
	}
}
