package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The default request timeouts (Config.ResponseHeaderTimeout and
// Config.BodyIdleTimeout).
const (
	DefaultResponseHeaderTimeout = 30 * time.Second
	DefaultBodyIdleTimeout       = 30 * time.Second
)

// TimeoutError is a registry request stopped because its registry went
// quiet: no response headers within the header timeout after the request
// was sent, or no body bytes within the idle timeout.
type TimeoutError struct {
	// Stage is "response headers" or "response body" (or "request body").
	Stage string
	// After is the timeout that expired.
	After time.Duration
	URL   string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: no progress on the %s for %v (registry request timeout)", e.URL, e.Stage, e.After)
}

// Timeout reports true: a timeout, as net.Error has it.
func (e *TimeoutError) Timeout() bool { return true }

// stallTimeout ends a request that stops making progress: one whose
// response headers do not come within header of its request (and its
// body) being sent, or whose body sends nothing for idle. Each byte of
// progress restarts the clock, so a large transfer that keeps moving is
// never cut. Zero durations disable the respective check.
type stallTimeout struct {
	next         http.RoundTripper
	header, idle time.Duration
}

func (t stallTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.header <= 0 && t.idle <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watch{cancel: cancel, url: redactURL(req)}
	w.arm("response headers", t.header)
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &progressBody{ReadCloser: req.Body, w: w, stage: "response headers", d: t.header}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		w.stop()
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && req.Context().Err() == nil {
			err = cause
		}
		cancel(nil)
		return nil, err
	}
	w.arm("response body", t.idle)
	resp.Body = &progressBody{ReadCloser: resp.Body, w: w, stage: "response body", d: t.idle, ctx: ctx, parent: req.Context(), done: cancel}
	return resp, nil
}

// watch is the clock of one request.
type watch struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelCauseFunc
	url    string
}

// arm restarts the clock: after d without another arm, the request is
// cancelled with a *TimeoutError for stage. d <= 0 stops the clock.
func (w *watch) arm(stage string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if d > 0 {
		w.timer = time.AfterFunc(d, func() { w.cancel(&TimeoutError{Stage: stage, After: d, URL: w.url}) })
	}
}

func (w *watch) stop() { w.arm("", 0) }

// progressBody restarts the request's clock on every read that moves.
type progressBody struct {
	io.ReadCloser
	w      *watch
	stage  string
	d      time.Duration
	ctx    context.Context         // response bodies: the request's context
	parent context.Context         // and its caller's
	done   context.CancelCauseFunc // ends the request once closed
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.arm(b.stage, b.d)
	}
	if err != nil && err != io.EOF && b.ctx != nil && b.ctx.Err() != nil && b.parent.Err() == nil {
		if cause := context.Cause(b.ctx); cause != nil {
			err = cause
		}
	}
	return n, err
}

func (b *progressBody) Close() error {
	err := b.ReadCloser.Close()
	if b.done != nil {
		b.w.stop()
		b.done(nil)
	}
	return err
}
