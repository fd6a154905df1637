package signer_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestReferrerRewrittenAfterLoss overwrites the fallback index right after
// the signer's first write to it, as a concurrent writer that read it
// before would, dropping the signer's entry: the signer must notice on
// reading back and put its entry in the index again (the referrer manifest
// itself is already stored, which must not stop the second index write).
func TestReferrerRewrittenAfterLoss(t *testing.T) {
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var indexPuts atomic.Int64
	var stale []byte // the index before the signer's entry: none (404) at first
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isIndex := strings.Contains(r.URL.Path, "/manifests/sha256-") && !strings.HasSuffix(r.URL.Path, ".sig")
		if r.Method != http.MethodPut || !isIndex || indexPuts.Add(1) != 1 {
			h.ServeHTTP(w, r)
			return
		}
		// The signer's first index write succeeds, then a stale writer's
		// replaces it with an index without the signer's entry.
		h.ServeHTTP(w, r)
		stale = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
		req := httptest.NewRequest(http.MethodPut, r.URL.Path, bytes.NewReader(stale))
		req.Header.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}))
	defer srv.Close()
	reg := &signertest.Registry{Host: strings.TrimPrefix(srv.URL, "http://")}
	d := reg.Image(t, "app")
	kp := signertest.Keys(t, "rewrite")
	s, err := signer.New(context.Background(), signer.Options{Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
		Mode: signer.ModeOCI11, MaxAttempts: 5, SettleDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
	if err != nil {
		t.Fatalf("sign: %v (index writes: %d)", err, indexPuts.Load())
	}
	if got := res.Layouts[0].Attempts; got < 2 {
		t.Errorf("%d write rounds, want the lost entry written again", got)
	}
	if indexPuts.Load() < 2 {
		t.Errorf("the index was written %d times, want the signer's entry written again", indexPuts.Load())
	}
}
