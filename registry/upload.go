package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// maxCoalesced is the largest blob monolithicUpload holds back: hallmark
// writes signature payloads, their configs and small manifests' blobs,
// a few KiB each.
const maxCoalesced = 1 << 20

// monolithicUpload turns go-containerregistry's three-request blob upload
// (POST to open an upload, PATCH with the content, PUT with the digest)
// into two — the POST and a PUT that carries the content, the distribution
// spec's monolithic upload, which every registry supports — for blobs of
// known size up to maxCoalesced. The PATCH is answered here (202, the same
// location) and its content sent with the PUT to that location. Nothing
// reaches the registry's storage before the PUT either way.
//
// The content is dropped once the PUT has an answer: go-containerregistry
// retries a failed upload as a whole (a new POST, a new location). After a
// network error it is kept, for a transport-level retry of the same PUT.
type monolithicUpload struct {
	next http.RoundTripper

	mu   sync.Mutex
	held map[string][]byte // by upload location, without the digest
}

func newMonolithicUpload(next http.RoundTripper) *monolithicUpload {
	return &monolithicUpload{next: next, held: map[string][]byte{}}
}

func isUpload(req *http.Request) bool {
	return strings.HasPrefix(req.URL.Path, "/v2/") && strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// uploadKey identifies an upload location: its URL without the digest
// parameter, the query in canonical order.
func uploadKey(u *url.URL) string {
	q := u.Query()
	q.Del("digest")
	return u.Scheme + "://" + u.Host + u.Path + "?" + q.Encode()
}

func (m *monolithicUpload) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case !isUpload(req):
		return m.next.RoundTrip(req)
	case req.Method == http.MethodPatch && req.ContentLength > 0 && req.ContentLength <= maxCoalesced &&
		req.Header.Get("Content-Range") == "" && req.URL.Query().Get("digest") == "":
		return m.hold(req)
	case req.Method == http.MethodPut && req.URL.Query().Get("digest") != "" && req.ContentLength == 0:
		return m.put(req)
	}
	return m.next.RoundTrip(req)
}

// hold keeps a PATCH's content for the PUT and answers as a registry does.
func (m *monolithicUpload) hold(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.held[uploadKey(req.URL)] = b
	m.mu.Unlock()
	h := http.Header{}
	h.Set("Location", req.URL.String())
	h.Set("Range", "0-"+strconv.Itoa(len(b)-1))
	return newResponse(req, http.StatusAccepted, h, nil), nil
}

// put sends a digest PUT with the content held for its location, if any.
func (m *monolithicUpload) put(req *http.Request) (*http.Response, error) {
	key := uploadKey(req.URL)
	m.mu.Lock()
	b, ok := m.held[key]
	m.mu.Unlock()
	if !ok {
		return m.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	resp, err := m.next.RoundTrip(r)
	if err == nil {
		m.mu.Lock()
		delete(m.held, key)
		m.mu.Unlock()
	}
	return resp, err
}
