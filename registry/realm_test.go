package registry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPrivateTokenRealm: a registry on loopback whose bearer token realm
// is another loopback address (another port: a token service on another
// host, as GitLab Self-Managed has it) is refused by go-containerregistry
// alone and works through the registry's transport; the token reaches
// the registry, the credentials only the token service.
func TestPrivateTokenRealm(t *testing.T) {
	var tokenReqs, basicSeen int
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenReqs++
		if u, p, ok := r.BasicAuth(); ok && u == "ci" && p == "pw" {
			basicSeen++
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token":"tok-123"}`))
	}))
	defer tokens.Close()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokens.URL+`/jwt/auth",service="container_registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	ref, err := name.NewTag(host+"/group/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Insecure: []string{host, strings.TrimPrefix(tokens.URL, "http://")},
		Credentials: []Credential{{Registry: host, Username: "ci", Password: "pw", Source: "test"}}}
	r := New(cfg)
	err = remote.Write(ref, img, remote.WithAuthFromKeychain(r.Keychain()))
	if err == nil || !strings.Contains(err.Error(), "private or link-local") {
		t.Fatalf("go-containerregistry alone: %v, want its private-realm refusal", err)
	}
	if err := remote.Write(ref, img, r.RemoteOptions(t.Context())...); err != nil {
		t.Fatalf("through the registry's transport: %v", err)
	}
	if _, err := remote.Head(ref, r.RemoteOptions(t.Context())...); err != nil {
		t.Fatal(err)
	}
	if tokenReqs == 0 || basicSeen != tokenReqs {
		t.Fatalf("token service: %d requests, %d with the credentials", tokenReqs, basicSeen)
	}
}

// TestPrivateRealmPolicy: which realms are accepted for which registries.
func TestPrivateRealmPolicy(t *testing.T) {
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "registry.internal":
			return []netip.Addr{netip.MustParseAddr("10.0.0.7")}, nil
		case "mixed.example":
			return []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("203.0.113.9")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("203.0.113.5")}, nil
	}
	for _, tt := range []struct {
		registry, realm string
		named           []string
		want            bool
	}{
		{"10.0.0.5:5000", "https://10.0.0.6/jwt/auth", nil, true},
		{"127.0.0.1:5000", "http://127.0.0.1:5001/token", nil, true},
		{"registry.internal", "https://10.0.0.6/jwt/auth", nil, true},
		{"registry.example.com", "https://10.0.0.6/jwt/auth", nil, false},
		{"mixed.example", "https://10.0.0.6/jwt/auth", nil, false},
		{"registry.example.com", "https://10.0.0.6/jwt/auth", []string{"10.0.0.6"}, true},
		{"registry.example.com", "https://10.0.0.6:8443/jwt/auth", []string{"10.0.0.6:8443"}, true},
		{"10.0.0.5:5000", "http://169.254.169.254/latest", nil, false},
		{"10.0.0.5:5000", "http://169.254.169.254/latest", []string{"169.254.169.254"}, true},
		{"registry.example.com", "https://auth.example.com/token", nil, false}, // a name: ggcr accepts it as is
		{"registry.example.com", "https://203.0.113.7/token", nil, false},      // public: as is
	} {
		p := newPrivateRealms(nil, tt.named)
		p.resolve = resolve
		req := httptest.NewRequest(http.MethodGet, "https://"+tt.registry+"/v2/", nil)
		challenge := `Bearer realm="` + tt.realm + `",service="reg"`
		got, ok := p.rewrite(req, challenge)
		if ok != tt.want {
			t.Errorf("registry %s, realm %s, named %v: rewritten %v (%q), want %v", tt.registry, tt.realm, tt.named, ok, got, tt.want)
			continue
		}
		if ok && (!strings.Contains(got, aliasSuffix) || !strings.HasSuffix(got, `",service="reg"`)) {
			t.Errorf("rewritten challenge %q", got)
		}
	}
}
