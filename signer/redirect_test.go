package signer_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/redirect"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestFulcioRedirects: an https Fulcio URL redirecting to plain http is
// never followed (the OIDC token would go in cleartext); one redirecting
// to another origin gets the request without the token.
func TestFulcioRedirects(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	token := ss.Token("g/p", "sigstore", time.Now().Add(time.Hour))
	var hits atomic.Int64
	var auth atomic.Value
	auth.Store("")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer target.Close()
	fulcio := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer fulcio.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fulcio.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	o := keylessOptions(reg, ss, token)
	o.FulcioURL, o.ServiceCACert = fulcio.URL, ca
	_, err := signer.New(context.Background(), o)
	if !errors.Is(err, redirect.ErrRefused) || !strings.Contains(err.Error(), "downgrade") {
		t.Fatalf("https Fulcio redirecting to http: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the http target got %d requests", hits.Load())
	}

	// Plain http to another origin (another port): no token there.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer other.Close()
	o = keylessOptions(reg, ss, token)
	o.FulcioURL = other.URL
	if _, err := signer.New(context.Background(), o); err == nil {
		t.Fatal("want the target's 401")
	}
	if hits.Load() != 1 || auth.Load() != "" {
		t.Fatalf("other origin: %d requests, Authorization %q", hits.Load(), auth.Load())
	}
}

// TestGitHubActionsTokenRedirect: the job's request token never follows a
// redirect to another origin (here the same address, another port, which
// Go's client alone treats as the same host).
func TestGitHubActionsTokenRedirect(t *testing.T) {
	var auth atomic.Value
	auth.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`{"value":"id-token"}`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, _ = signer.GitHubActionsToken(context.Background(), srv.URL+"/token", "request-secret", "")
	if got := auth.Load(); got != "" {
		t.Fatalf("the other origin got Authorization %q", got)
	}
}
