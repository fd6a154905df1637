// Package signertest provides fixtures for tests of signing and
// verification: an in-memory registry with or without the OCI 1.1
// referrers API, random images pushed to it, and cosign key pairs.
package signertest

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// Registry is an in-memory registry served over plain HTTP on loopback.
type Registry struct {
	// Host is host:port, for references.
	Host string
	// Referrers says whether the registry serves the referrers API.
	Referrers bool
	// Options reach it (ggcr treats loopback hosts as plain HTTP).
	Options []remote.Option
	// Requests counts HTTP requests served.
	Requests *atomic.Int64
	log      *requestLog
}

// Served lists the requests served so far as "METHOD /path", in order.
func (r *Registry) Served() []string { return r.log.list() }

// NewRegistry starts a registry, closed when the test ends.
func NewRegistry(t testing.TB, referrers bool) *Registry {
	t.Helper()
	h := registry.New(registry.WithReferrersSupport(referrers), registry.Logger(discard()))
	var n atomic.Int64
	l := &requestLog{}
	srv := httptest.NewServer(counting(h, &n, l))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Registry{Host: u.Host, Referrers: referrers, Requests: &n, log: l}
}

// Name returns a registry name for each kind, for subtest names.
func Name(referrers bool) string {
	if referrers {
		return "referrers-api"
	}
	return "no-referrers-api"
}

// Image pushes a random image to repo and returns its digest.
func (r *Registry) Image(t testing.TB, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.Host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, r.Options...); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

// KeyPair is a cosign key pair written to files.
type KeyPair struct {
	Private  string // cosign.key path (encrypted)
	Public   string // cosign.pub path
	Password []byte
}

var (
	keysMu sync.Mutex
	keys   = map[string]*cosign.KeysBytes{}
)

// Keys returns the cosign key pair called label, written to files in the
// test's temporary directory. The pair is generated once per test binary
// (scrypt makes generation slow).
func Keys(t testing.TB, label string) *KeyPair {
	t.Helper()
	pass := []byte("test-password-" + label)
	keysMu.Lock()
	kb, ok := keys[label]
	if !ok {
		var err error
		kb, err = cosign.GenerateKeyPair(func(bool) ([]byte, error) { return pass, nil })
		if err != nil {
			keysMu.Unlock()
			t.Fatal(err)
		}
		keys[label] = kb
	}
	keysMu.Unlock()
	dir := t.TempDir()
	kp := &KeyPair{Private: filepath.Join(dir, label+".key"), Public: filepath.Join(dir, label+".pub"), Password: pass}
	if err := os.WriteFile(kp.Private, kb.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp.Public, kb.PublicBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return kp
}

// Index pushes a random image index of n images to repo and returns its
// digest and its manifests' digests.
func (r *Registry) Index(t testing.TB, repo string, n int) (name.Digest, []name.Digest) {
	t.Helper()
	idx, err := random.Index(256, 1, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.Host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, r.Options...); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	children := make([]name.Digest, len(im.Manifests))
	for i, m := range im.Manifests {
		children[i] = tag.Context().Digest(m.Digest.String())
	}
	return tag.Context().Digest(h.String()), children
}
