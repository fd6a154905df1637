package signer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignRegistryDropsWrites: a registry that answers the signature
// tag's and the fallback index's manifest writes with 201 but keeps
// nothing is reported as dropping writes (ErrWriteDropped), not as
// concurrent writers (ErrLostUpdate), in each read-modify-write layout.
func TestSignRegistryDropsWrites(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   signer.Mode
		bundle bool
	}{{"legacy", signer.ModeLegacy, false}, {"oci-1-1", signer.ModeOCI11, false}, {"bundle", "", true}} {
		t.Run(c.name, func(t *testing.T) {
			upstream := signertest.NewRegistry(t, false)
			u, err := url.Parse("http://" + upstream.Host)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(u)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
					w.WriteHeader(http.StatusCreated) // accepted, not kept
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			orig := upstream.Image(t, "app")
			d, err := name.NewDigest(host+"/"+orig.RepositoryStr()+"@"+orig.DigestStr(), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			s := regSignerFormat(t, host, "dropped", c.mode, c.bundle)
			_, err = s.Sign(t.Context(), signer.Subject{Digest: d}, nil)
			if !errors.Is(err, signer.ErrWriteDropped) || errors.Is(err, signer.ErrLostUpdate) {
				t.Fatalf("Sign: %v; want ErrWriteDropped", err)
			}
			t.Log(err)
		})
	}
}
