package signer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// confirmations is how many settled read-backs must find a write before
// it counts as done.
const confirmations = 2

// droppedAfter is how many accepted writes in a row must leave the
// listing read back the same, without the signature, before the registry
// is taken to drop manifest writes.
const droppedAfter = 3

// commit runs write until present confirms it survived. Registries offer
// no conditional manifest writes, so a concurrent writer that read the
// manifest before our write can overwrite it without our signature. After
// each write that was a read-modify-write (write returns how many
// requests, one after the other, it made; 0 when it was not one) commit
// waits, reads back, waits and reads back again; when the signature is
// gone it writes again (on the then current manifest).
//
// A registry that accepts a write but does not keep it leaves the listing
// exactly as it was; concurrent writers change it. After droppedAfter
// writes that each left the same listing without the signature, commit
// fails with ErrWriteDropped rather than retry until ErrLostUpdate.
func (c *signCall) commit(ctx context.Context, w *Written, write func() (trips int, err error), present readBack) error {
	conflicts, transients := 0, 0
	missed, sameMiss := "", 0
	for w.Attempts = 1; w.Attempts <= c.s.o.MaxAttempts; {
		start := time.Now()
		trips, err := write()
		window := time.Since(start)
		if again, rerr := c.restartAfterTransient(ctx, w, err, &transients); again || rerr != nil {
			if rerr != nil {
				return rerr
			}
			continue
		}
		if errors.Is(err, errConflict) && conflicts < 10*c.s.o.MaxAttempts {
			conflicts++ // nothing written: read again after a short random pause
			if err := sleep(ctx, rand.N(window+time.Millisecond)); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, errConflict) {
			return fmt.Errorf("writing %s: %w (%d conflicting writes)", w.Ref, ErrLostUpdate, conflicts)
		}
		if err == nil && c.isLast(w) {
			c.notifyStored()
		}
		if err != nil || trips == 0 {
			return err
		}
		ok, state, err := c.confirm(ctx, c.waitOut(window, trips), present)
		if err != nil || ok {
			return err
		}
		if sameMiss == 0 || state != missed {
			missed, sameMiss = state, 0
		}
		if sameMiss++; sameMiss >= droppedAfter {
			return fmt.Errorf("writing %s: %w (%d writes accepted, the listing unchanged after each)", w.Ref, ErrWriteDropped, sameMiss)
		}
		c.s.o.Logger.InfoContext(ctx, "write lost to a concurrent writer; writing it again", "ref", w.Ref, "attempt", w.Attempts+1)
		// Back off by a growing random share of the window, so that
		// writers that keep colliding spread out.
		if err := sleep(ctx, rand.N(time.Duration(w.Attempts)*window+time.Millisecond)); err != nil {
			return err
		}
		w.Attempts++
	}
	return fmt.Errorf("writing %s: %w (%d attempts)", w.Ref, ErrLostUpdate, c.s.o.MaxAttempts)
}

// readBack reads the stored listing back: whether it holds our signature,
// and a summary of what it holds (the same while nobody writes).
type readBack func() (ok bool, state string, err error)

// maxReadBacks bounds the read-backs of one write while other writers keep
// changing the listing; ours being there in all of them then has to do.
const maxReadBacks = 12

// confirm waits and reads back until the signature has been found in
// `confirmations` settled read-backs in a row between which nobody wrote:
// a change means other writers are active, and one that read before our
// write may still be on its way, so the count starts over. Without
// concurrent writers that is two read-backs, as before; false when the
// signature is gone, with the state read back then.
func (c *signCall) confirm(ctx context.Context, window time.Duration, present readBack) (bool, string, error) {
	quiet, last := 0, ""
	for reads := 0; quiet < confirmations && reads < maxReadBacks; reads++ {
		if err := c.settle(ctx, window); err != nil {
			return false, "", err
		}
		ok, state, err := present()
		if err != nil || !ok {
			return false, state, err
		}
		if reads > 0 && state != last {
			quiet = 0
		}
		quiet++
		last = state
	}
	return true, last, nil
}

// waitOut is the part of a write window of trips requests that a
// concurrent writer's own check-to-write may add beyond ours: the window
// less the shortest round trip to the registry for every request but one.
// Writers on similar links pay the network's share alike (its answer to
// its check and its write travel as our write's answer and read-back do);
// what is left — the machine's and the registry's waits, one round trip
// of difference between links — is what a settled read-back must outlast.
// On loopback that is about the whole window.
func (c *signCall) waitOut(window time.Duration, trips int) time.Duration {
	if c.s.o.ShortestRoundTrip == nil || trips < 2 {
		return window
	}
	rt := c.s.o.ShortestRoundTrip(c.digest.RegistryStr())
	return max(window-time.Duration(trips-1)*rt, 0)
}

// settle waits long enough that a concurrent writer whose read preceded
// our write has written too: about what our own write window had to wait
// out (waitOut; its requests take as long as ours), with jitter, at least
// 20ms, unless Options.SettleDelay says otherwise. Two settled read-backs
// give a stalled writer twice that.
func (c *signCall) settle(ctx context.Context, window time.Duration) error {
	d := c.s.o.SettleDelay
	if d == 0 {
		d = settleDelay(window)
	}
	return sleep(ctx, d)
}

// settleDelay is window with up to half of it again as jitter, between
// 20ms and 2s.
func settleDelay(window time.Duration) time.Duration {
	d := window + rand.N(window/2+time.Millisecond)
	return min(max(d, 20*time.Millisecond), 2*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
