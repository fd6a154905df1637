// Package parallel runs a bounded number of calls at once and reports
// their errors in order.
package parallel

import (
	"fmt"
	"sync"
)

// Max bounds how many digests one invocation signs or verifies at
// once (hallmark sign with several digests, release --recursive): enough
// to overlap the round trips and settle delays of the signatures of an
// 8-platform index and the index itself in one round, few enough not to
// flood a registry, Fulcio or the TSA.
const Max = 10

// ForEach runs f(i) for i in [0, n), at most limit at a time, and returns
// each call's error at its index. Every call runs: one failure does not
// stop the others, so that callers can report all of them in order.
func ForEach(n, limit int, f func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// FirstError returns the first error of errs, saying how many of them
// failed when it is not the only one; nil when none did.
func FirstError(errs []error) error {
	var first error
	n := 0
	for _, err := range errs {
		if err != nil {
			if n++; first == nil {
				first = err
			}
		}
	}
	if n > 1 {
		return fmt.Errorf("%w (and %d more of %d)", first, n-1, len(errs))
	}
	return first
}
