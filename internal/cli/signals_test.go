package cli

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestSignalContextRecordsBeforeCancel checks, many times over, that once
// the context is done because of a signal the signal is known: a command
// failing on the cancelled context is reported as interrupted (130/143),
// never as its stage's failure.
func TestSignalContextRecordsBeforeCancel(t *testing.T) {
	for i := range 2000 {
		sig := os.Signal(syscall.SIGINT)
		if i%2 == 1 {
			sig = syscall.SIGTERM
		}
		ch := make(chan os.Signal, 1)
		ctx, received := signalContext(context.Background(), ch)
		if received() != nil {
			t.Fatal("a signal before any was sent")
		}
		ch <- sig
		<-ctx.Done()
		if got := received(); got != sig {
			t.Fatalf("run %d: context done, received() = %v, want %v", i, got, sig)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("ctx.Err() = %v", ctx.Err())
		}
		want := map[os.Signal]int{syscall.SIGINT: exitSIGINT, syscall.SIGTERM: exitSIGTERM}[sig]
		if code := report(discard{}, ctx.Err(), received()); code != want {
			t.Fatalf("report = %d, want %d", code, want)
		}
	}
}

func TestSignalContextWithoutSignal(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, received := signalContext(parent, make(chan os.Signal))
	cancel()
	<-ctx.Done()
	if received() != nil {
		t.Fatal("a signal reported after a plain cancellation")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
