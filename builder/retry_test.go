package builder

import "testing"

// TestTransientPushError: the push errors buildkitd reports that Build
// exports again for, and those it does not (messages as buildkitd words
// them).
func TestTransientPushError(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"failed to push 127.0.0.1:5000/a: failed to copy: failed to do request: blob upload unknown to registry", true},
		{"failed to push r/a: unexpected status from PUT request to http://r/v2/a/manifests/sha256:ab: 503 Service Unavailable", true},
		{"failed to push r/a: unexpected status from PATCH request to http://r/v2/a/blobs/uploads/x: 502 Bad Gateway", true},
		{"failed to push r/a: unexpected status from POST request to http://r/v2/a/blobs/uploads/: 429 Too Many Requests", true},
		{"failed to push r/a: failed to copy: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", true},
		{"failed to push r/a: failed to do request: Put \"http://r/v2/a/blobs/uploads/x\": EOF", true},
		{"failed to solve: failed to push 127.0.0.1:1/e2e/a: unavailable: injected fault 502", true},
		{"failed to push r/a: toomanyrequests: rate limit exceeded", true},
		{"failed to push r/a: unexpected status from PUT request to http://r/v2/a/manifests/v1: 401 Unauthorized", false},
		{"failed to push r/a: unexpected status from PUT request to http://r/v2/a/manifests/v1: 403 Forbidden", false},
		{"process \"/bin/busybox false\" did not complete successfully: exit code: 1", false},
		{"failed to push r/a: server message: insufficient_scope: authorization failed", false},
	}
	for _, tt := range tests {
		if got := transientPushError(tt.msg); got != tt.want {
			t.Errorf("transientPushError(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}
