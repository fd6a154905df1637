package signer

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A conditional write — the signature tag's or the fallback index's
// manifest, put right after checking that the tag still names what was
// read — must never be sent twice: go-containerregistry resends a failed
// manifest PUT after its backoff (and hallmark's transport first waits
// out a Retry-After), by when another signer may have written and
// confirmed its own signature, which the stale body then drops. So these
// writes go through a pusher that never retries, and a transient failure
// (5xx, 429, 408, a reset connection, a timeout, an answer lost after the
// registry applied the write) starts the whole read, check, write and
// read-back cycle over, up to maxTransientRestarts times per layout.

// maxTransientRestarts bounds the cycles restarted after transient
// failures of a conditional write, per layout.
const maxTransientRestarts = 8

// maxOtherRestarts bounds the cycles restarted after the transport's own
// retries of another step of the cycle ran out on transient failures.
const maxOtherRestarts = 2

// errTransientWrite marks a conditional write that failed transiently:
// whether the registry applied it is unknown, and it was not resent.
var errTransientWrite = errors.New("conditional write failed transiently (not resent)")

// transientWriteError is a conditional write's transient failure.
type transientWriteError struct{ err error }

func (e *transientWriteError) Error() string { return e.err.Error() }
func (e *transientWriteError) Unwrap() []error {
	return []error{errTransientWrite, e.err}
}

// conditionalPusher holds the pusher for conditional writes, made on first
// use and dropped after a transient failure: a go-containerregistry pusher
// keeps the error of its first auth handshake with a repository for good.
type conditionalPusher struct {
	mu sync.Mutex
	ps *remote.Pusher
}

// get returns the pusher, making one from ropts (the signer's options)
// without retries and without ggcr's own fallback-index update.
func (c *conditionalPusher) get(ropts []remote.Option) (*remote.Pusher, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ps != nil {
		return c.ps, nil
	}
	ps, err := remote.NewPusher(append(slices.Clone(ropts),
		remote.WithReferrersTagFallback(false),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes())...)
	if err != nil {
		return nil, err
	}
	c.ps = ps
	return ps, nil
}

func (c *conditionalPusher) drop(ps *remote.Pusher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ps == ps {
		c.ps = nil
	}
}

// rawTaggable is a manifest to put as is, without its blobs (uploaded
// before, and checked by the registry).
type rawTaggable struct {
	raw []byte
	mt  types.MediaType
}

func (r rawTaggable) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawTaggable) MediaType() (types.MediaType, error) { return r.mt, nil }

// manifest is what putConditional puts: a manifest and its media type.
type manifest interface {
	RawManifest() ([]byte, error)
	MediaType() (types.MediaType, error)
}

// putConditional puts t's manifest under tag once, never resent. A
// transient failure is returned as a *transientWriteError.
func (c *signCall) putConditional(tag name.Tag, t manifest) error {
	raw, err := t.RawManifest()
	if err != nil {
		return err
	}
	mt, err := t.MediaType()
	if err != nil {
		return err
	}
	ps, err := c.s.conditional.get(c.s.o.RemoteOptions)
	if err != nil {
		return err
	}
	opts := append(slices.Clone(c.ropts), remote.Reuse(ps))
	err = remote.Put(tag, rawTaggable{raw, mt}, opts...)
	if err != nil && transientFailure(err) {
		c.s.conditional.drop(ps)
		return &transientWriteError{err}
	}
	return err
}

// transientFailure says whether err is a failure worth retrying the whole
// cycle for: a 5xx, 429 or 408 answer, or a network error (a reset or
// closed connection, an answer cut short, a timeout).
func transientFailure(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Temporary() || te.StatusCode >= 500
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// restartAfterTransient decides, after a write of commit's cycle failed
// with err, whether to start the cycle over: when err is a transient
// failure of the conditional write and fewer than maxTransientRestarts
// restarts were made (counted in *n), or a transient failure of another
// step of the cycle (a read, the config blob's upload), which the
// transport already retried, and fewer than maxOtherRestarts were made.
// It waits a growing, jittered pause (100ms doubling, at most 5s) first.
func (c *signCall) restartAfterTransient(ctx context.Context, w *Written, err error, n *int) (bool, error) {
	limit := maxTransientRestarts
	if !errors.Is(err, errTransientWrite) {
		limit = maxOtherRestarts
	}
	if err == nil || !transientFailure(err) || *n >= limit {
		return false, nil
	}
	*n++
	w.Attempts++
	d := min(100*time.Millisecond<<(*n-1), 5*time.Second)
	c.s.o.Logger.InfoContext(ctx, "transient registry failure; reading and writing again", "ref", w.Ref, "restart", *n, "err", err)
	if err := sleep(ctx, d/2+rand.N(d/2)); err != nil {
		return false, err
	}
	return true, nil
}
