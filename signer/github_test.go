package signer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
)

func TestGitHubActionsToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer request-secret" || r.URL.Query().Get("audience") != "sigstore" || r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"value":"id-token"}`))
	}))
	defer srv.Close()
	tok, err := signer.GitHubActionsToken(context.Background(), srv.URL+"/token?api-version=2.0", "request-secret", "")
	if err != nil || tok != "id-token" {
		t.Fatalf("got %q, %v", tok, err)
	}
	_, err = signer.GitHubActionsToken(context.Background(), srv.URL+"/token?api-version=2.0", "wrong-secret", "")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("refused request: %v", err)
	}
}
