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

// unregisteredJob matches buildkitd's answer to a gateway call for a build
// it does not know: "forwarding Ping: no such job <id>". The first such
// call, Ping, opens every Build; buildkitd waits 3 s (a fixed timeout) for
// the Solve that registers the build to get that far, and a loaded
// buildkitd can take longer (moby/buildkit#5171). It is not a retried
// export reaching a session that ended: each run of the request is a new
// solve with a new id and session. Nothing was built or pushed then, so
// the request is run again.
var unregisteredJob = regexp.MustCompile(`forwarding \w+: no such job\b`).MatchString
