package builder

import (
	"regexp"
	"time"
)

// DefaultExportAttempts is how many times Build tries a push that fails on
// transient registry errors, in all.
const DefaultExportAttempts = 4

// exportBackoff is the wait before the first export retry; it doubles for
// each further one (1s, 2s, 4s).
const exportBackoff = time.Second

// transientPush matches the registry errors buildkitd's push reports that
// are worth another try: an upload the registry lost (a lost answer
// mid-upload), 5xx, 429 and 408 answers (as a status or as the
// registry's UNAVAILABLE or TOOMANYREQUESTS error code relayed), and broken
// connections.
var transientPush = regexp.MustCompile(`(?i)blob upload (unknown|invalid)|\bunavailable: |\btoomanyrequests\b|` +
	`unexpected status[^:]*: (5\d\d|429|408)\b|` +
	`\b(500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout|429 Too Many Requests)\b|` +
	`connection reset by peer|broken pipe|unexpected EOF|: EOF\b|i/o timeout|TLS handshake timeout|` +
	`server closed idle connection|http2: server sent GOAWAY`)

// transientPushError reports whether msg, the error of an export that
// started after a successful build, is a transient registry error.
func transientPushError(msg string) bool {
	return transientPush.MatchString(msg)
}
