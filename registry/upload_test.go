package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestMonolithicUpload: a small blob goes up as POST + PUT with the
// content (no PATCH), a large one as go-containerregistry sends it; either
// way the registry then serves the blob byte for byte. After a PUT answered
// 503, go-containerregistry retries the whole upload, again as POST + PUT
// with the content; nothing is held afterwards.
func TestMonolithicUpload(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		failPUTs int // PUTs answered 503 before the registry sees one
		want     []string
	}{
		{"small", 1500, 0, []string{"HEAD blob", "POST", "PUT 1500"}},
		{"small, upload retried after a 503", 1500, 1, []string{"HEAD blob", "POST", "PUT 1500", "HEAD blob", "POST", "PUT 1500"}},
		{"large", maxCoalesced + 1, 0, []string{"HEAD blob", "POST", "PATCH", "PUT 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			var mu sync.Mutex
			var seen []string
			failPUTs := tt.failPUTs
			reg := ggcrregistry.New()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					reg.ServeHTTP(w, r)
					return
				}
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				mu.Lock()
				switch {
				case r.Method == http.MethodHead:
					seen = append(seen, "HEAD blob")
				case r.Method == http.MethodPut:
					seen = append(seen, "PUT "+strconv.Itoa(len(body)))
				default:
					seen = append(seen, r.Method)
				}
				fail := r.Method == http.MethodPut && failPUTs > 0
				if fail {
					failPUTs--
				}
				mu.Unlock()
				if fail {
					http.Error(w, "try again", http.StatusServiceUnavailable)
					return
				}
				reg.ServeHTTP(w, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			r := New(Config{Insecure: []string{host}})
			repo, err := r.ParseRepository(host + "/group/app")
			if err != nil {
				t.Fatal(err)
			}
			content := bytes.Repeat([]byte("x"), tt.size)
			layer := static.NewLayer(content, types.OCILayer)
			if err := remote.WriteLayer(repo, layer, r.RemoteOptions(t.Context())...); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := strings.Join(seen, ", ")
			mu.Unlock()
			if want := strings.Join(tt.want, ", "); got != want {
				t.Errorf("requests: %s\nwant:     %s", got, want)
			}
			if n := heldUploads(r); n != 0 {
				t.Errorf("%d uploads' content still held", n)
			}
			d, _ := layer.Digest()
			stored, err := remote.Layer(repo.Digest(d.String()), r.RemoteOptions(t.Context())...)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := stored.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, content) {
				t.Errorf("stored blob is %d bytes, not what was uploaded (%d bytes)", len(b), len(content))
			}
		})
	}
}

// heldUploads counts the uploads whose content r's transport holds.
func heldUploads(r *Registry) int {
	m := r.transport.(*pingCache).next.(*referrersMemo).next.(*monolithicUpload)
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}
