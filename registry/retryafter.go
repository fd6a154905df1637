package registry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter is the longest Retry-After wait honoured. A registry asking
// for longer gets its answer passed on at once, so that the bounded retries
// fail fast with its error instead of stalling the job.
const MaxRetryAfter = 10 * time.Second

// retryAfter makes go-containerregistry's retries honour Retry-After: its
// retry transport retries 429 and 5xx answers after its own exponential
// backoff with jitter, ignoring the header. retryAfter holds back a 429 or
// 503 answer carrying Retry-After until the time it names has passed (at
// most MaxRetryAfter), so whichever retry follows comes no earlier than the
// registry asked. It never sends a request itself.
type retryAfter struct {
	next http.RoundTripper
	max  time.Duration
	now  func() time.Time
}

func (t retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
	if !ok || d <= 0 || d > t.max {
		return resp, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-req.Context().Done():
		resp.Body.Close()
		return nil, req.Context().Err()
	case <-timer.C:
		return resp, nil
	}
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || secs > int64(24*time.Hour/time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return at.Sub(now), true
}
