package signer

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
)

// Identical Sign calls on one Signer — the same digest with the same
// annotations, e.g. a digest given several times to `hallmark sign` — run
// once: a call finding one in flight waits for it and reports its
// signatures as already stored, instead of racing it to a second, equal
// signature. Identical Attest calls (the same subject and statement) are
// coalesced the same way.

// flight is one call in progress, which identical calls wait for.
type flight[T any] struct {
	done chan struct{}
	res  T
	err  error
}

// flights tracks the calls in progress by key.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

// signKey identifies a Sign call's signature: the digest and annotations.
func signKey(sub Subject, annotations map[string]string) string {
	ann, _ := json.Marshal(annotations) // a map[string]string always marshals, keys sorted
	return sub.Digest.String() + "\x00" + string(ann)
}

// join returns the flight in progress for key (leader false), or starts
// one (leader true) that the caller must land.
func (f *flights[T]) join(key string) (fl *flight[T], leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		return fl, false
	}
	if f.m == nil {
		f.m = map[string]*flight[T]{}
	}
	fl = &flight[T]{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// land records the leader's outcome and releases the waiters.
func (f *flights[T]) land(key string, fl *flight[T], res T, err error) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	fl.res, fl.err = res, err
	close(fl.done)
}

// wait waits for fl and returns its result. A failed flight is not
// shared: the caller runs the call itself (again is true then).
func (fl *flight[T]) wait(ctx context.Context) (res T, again bool, err error) {
	select {
	case <-ctx.Done():
		return res, false, ctx.Err()
	case <-fl.done:
	}
	if fl.err != nil {
		return res, true, nil
	}
	return fl.res, false, nil
}

// asExisting returns a copy of a Sign result another call landed: every
// signature already stored (Existing).
func asExisting(res *Result) *Result {
	r := *res
	r.Layouts = slices.Clone(r.Layouts)
	for i := range r.Layouts {
		r.Layouts[i].Existing, r.Layouts[i].Attempts = true, 0
	}
	return &r
}
