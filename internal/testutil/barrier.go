package testutil

import (
	"sync/atomic"
	"time"
)

// Barrier holds the first n calls of Wait until all n have come (at most
// a minute), so that n concurrent clients' first reads all precede any
// one's write; later calls pass at once.
type Barrier struct {
	n     int64
	calls atomic.Int64
	all   chan struct{}
}

// NewBarrier returns a barrier for n calls.
func NewBarrier(n int) *Barrier {
	return &Barrier{n: int64(n), all: make(chan struct{})}
}

// Wait counts a call and holds it while fewer than n have come.
func (b *Barrier) Wait() {
	switch k := b.calls.Add(1); {
	case k == b.n:
		close(b.all)
	case k < b.n:
		select {
		case <-b.all:
		case <-time.After(time.Minute):
		}
	}
}

// Calls is how many calls Wait has counted.
func (b *Barrier) Calls() int64 { return b.calls.Load() }
