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
// signature.

// flight is one Sign call in progress, which identical calls wait for.
type flight struct {
	done chan struct{}
	res  *Result
	err  error
}

// flights tracks the Sign calls in progress by key.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// signKey identifies a Sign call's signature: the digest and annotations.
func signKey(sub Subject, annotations map[string]string) string {
	ann, _ := json.Marshal(annotations) // a map[string]string always marshals, keys sorted
	return sub.Digest.String() + "\x00" + string(ann)
}

// join returns the flight in progress for key (leader false), or starts
// one (leader true) that the caller must land.
func (f *flights) join(key string) (fl *flight, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		return fl, false
	}
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	fl = &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// land records the leader's outcome and releases the waiters.
func (f *flights) land(key string, fl *flight, res *Result, err error) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	fl.res, fl.err = res, err
	close(fl.done)
}

// wait waits for fl and returns its result as this call's: every
// signature already stored (Existing). A failed flight is not shared: the
// caller signs itself (again is false then).
func (fl *flight) wait(ctx context.Context) (res *Result, again bool, err error) {
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-fl.done:
	}
	if fl.err != nil {
		return nil, true, nil
	}
	r := *fl.res
	r.Layouts = slices.Clone(r.Layouts)
	for i := range r.Layouts {
		r.Layouts[i].Existing, r.Layouts[i].Attempts = true, 0
	}
	return &r, false, nil
}
