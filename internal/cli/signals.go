package cli

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
)

// signalContext returns a context cancelled by the first signal on ch, and
// a function returning that signal (nil when none came). Once the context
// is done because of a signal, the function returns it: the signal is
// recorded before the context is cancelled, so an error caused by the
// cancellation is always reported as the interruption it is. (Two
// channels, signal.NotifyContext's and another read afterwards, race: the
// command can fail on the cancelled context before the second receives.)
func signalContext(parent context.Context, ch <-chan os.Signal) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(parent)
	var got atomic.Value
	go func() {
		select {
		case s := <-ch:
			got.Store(s)
			cancel(fmt.Errorf("%s received", s))
		case <-ctx.Done():
		}
	}()
	return ctx, func() os.Signal {
		s, _ := got.Load().(os.Signal)
		return s
	}
}
