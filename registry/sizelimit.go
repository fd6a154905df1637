package registry

import (
	"io"
	"net/http"
	"strings"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// sizeLimit bounds every response body hallmark reads from a registry:
// blobs (GET /v2/<name>/blobs/..., wherever they redirect) to blob bytes,
// everything else — manifests, indexes, referrers listings, tokens — to
// manifest bytes. An answer whose Content-Length is over the limit is
// refused before its body is read; any other is cut once it passes the
// limit, its read failing with a *limits.TooLargeError naming the limit.
// go-containerregistry's own limit on manifests is 100 MiB, on blobs none,
// and cosign reads signature layers and configs whole into memory.
type sizeLimit struct {
	next               http.RoundTripper
	manifest, blobSize int64
}

func (t sizeLimit) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead {
		return resp, err
	}
	limit, what := t.manifest, "registry response "
	if isBlob(firstRequest(req)) {
		limit, what = t.blobSize, "blob "
	}
	if limit <= 0 {
		return resp, nil
	}
	what += redactURL(firstRequest(req))
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, &limits.TooLargeError{What: what + " (Content-Length " + limits.Size(resp.ContentLength) + ")", Limit: limit}
	}
	resp.Body = limitedBody{Reader: limits.Reader(resp.Body, limit, what), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// firstRequest is the request a redirect chain started with.
func firstRequest(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}

// isBlob says whether req reads a blob: GET /v2/<name>/blobs/<digest>.
func isBlob(req *http.Request) bool {
	name, digest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/blobs/")
	return ok && strings.HasPrefix(req.URL.Path, "/v2/") && name != "" && !strings.HasPrefix(digest, "uploads")
}
