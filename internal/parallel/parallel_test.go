package parallel

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEach(t *testing.T) {
	var running, peak atomic.Int32
	errs := ForEach(20, 3, func(i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		if i%7 == 3 {
			return errors.New("failed")
		}
		return nil
	})
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d, want at most 3 (and some overlap)", p)
	}
	if len(errs) != 20 {
		t.Fatalf("%d results, want 20", len(errs))
	}
	for i, err := range errs {
		if (err != nil) != (i%7 == 3) {
			t.Errorf("result %d: %v", i, err)
		}
	}
}

func TestFirstError(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	if err := FirstError([]error{nil, nil}); err != nil {
		t.Errorf("no failures: %v", err)
	}
	if err := FirstError([]error{nil, a, nil}); err != a {
		t.Errorf("one failure: %v, want a itself", err)
	}
	if err := FirstError([]error{nil, a, b}); !errors.Is(err, a) || err.Error() != "a (and 1 more of 3)" {
		t.Errorf("two failures: %v", err)
	}
}
