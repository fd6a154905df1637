package signer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// confirmations is how many settled read-backs must find a write before
// it counts as done.
const confirmations = 2

// commit runs write until present confirms it survived. Registries offer
// no conditional manifest writes, so a concurrent writer that read the
// manifest before our write can overwrite it without our signature. After
// each write commit waits, reads back, waits and reads back again; when
// the signature is gone it writes again (on the then current manifest).
func (j *job) commit(ctx context.Context, w *Written, write func() error, present func() (bool, error)) error {
	for w.Attempts = 1; w.Attempts <= j.s.o.MaxAttempts; w.Attempts++ {
		start := time.Now()
		if err := write(); err != nil {
			return err
		}
		window := time.Since(start)
		ok := true
		for i := 0; i < confirmations && ok; i++ {
			if err := j.settle(ctx, window); err != nil {
				return err
			}
			var err error
			if ok, err = present(); err != nil {
				return err
			}
		}
		if ok {
			return nil
		}
		j.s.o.Logger.InfoContext(ctx, "signature lost to a concurrent writer; writing it again", "ref", w.Ref, "attempt", w.Attempts+1)
		// Back off by a growing random share of the window, so that
		// writers that keep colliding spread out.
		if err := sleep(ctx, rand.N(time.Duration(w.Attempts)*window+time.Millisecond)); err != nil {
			return err
		}
	}
	return fmt.Errorf("writing %s: %w (%d attempts)", w.Ref, ErrLostUpdate, j.s.o.MaxAttempts)
}

// settle waits long enough that a concurrent writer whose read preceded
// our write has written too: about our own write window (its reads and
// write take as long as ours), with jitter, at least 20ms, unless
// Options.SettleDelay says otherwise. Two settled read-backs give a
// stalled writer twice that.
func (j *job) settle(ctx context.Context, window time.Duration) error {
	d := j.s.o.SettleDelay
	if d == 0 {
		d = window + rand.N(window/2+time.Millisecond)
		d = min(max(d, 20*time.Millisecond), 2*time.Second)
	}
	return sleep(ctx, d)
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
