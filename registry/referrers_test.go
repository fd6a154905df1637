package registry

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestReferrersAPIAskedOnce: a registry without the referrers API is
// asked once; one with it every time.
func TestReferrersAPIAskedOnce(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, api := range []bool{false, true} {
		var asked atomic.Int64
		reg := ggcrregistry.New(ggcrregistry.WithReferrersSupport(api))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/referrers/") {
				asked.Add(1)
			}
			reg.ServeHTTP(w, r)
		}))
		host := strings.TrimPrefix(srv.URL, "http://")
		r := New(Config{Insecure: []string{host}})
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, repo := range []string{"a", "b", "a"} {
			tag, err := r.ParseTag(host + "/group/" + repo + ":1")
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(tag, img, r.RemoteOptions(t.Context())...); err != nil {
				t.Fatal(err)
			}
			d, _ := img.Digest()
			idx, err := remote.Referrers(tag.Context().Digest(d.String()), r.RemoteOptions(t.Context())...)
			if err != nil {
				t.Fatalf("api %v: %v", api, err)
			}
			if m, err := idx.IndexManifest(); err != nil || len(m.Manifests) != 0 {
				t.Fatalf("api %v: referrers %v, %v; want none", api, m, err)
			}
		}
		want := int64(1)
		if api {
			want = 3
		}
		if n := asked.Load(); n != want {
			t.Errorf("referrers API %v: asked %d times, want %d", api, n, want)
		}
		srv.Close()
	}
}
