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
	}
	return fmt.Errorf("writing %s: %w (%d attempts)", w.Ref, ErrLostUpdate, j.s.o.MaxAttempts)
}

// settle waits long enough that a concurrent writer whose read preceded
// our write has written too: a few times our own write window, with
// jitter, at least 50ms, unless Options.SettleDelay says otherwise.
func (j *job) settle(ctx context.Context, window time.Duration) error {
	d := j.s.o.SettleDelay
	if d == 0 {
		d = 2*window + rand.N(window+time.Millisecond)
		d = min(max(d, 50*time.Millisecond), 3*time.Second)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
