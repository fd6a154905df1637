package signer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestConfirmWaitsForQuiet feeds confirm scripted read-backs: two in a row
// with the signature and no change in between confirm it; a change (another
// writer) starts the count over, since a writer that read before ours may
// still write; a read without the signature fails it; endless changes end
// after maxReadBacks.
func TestConfirmWaitsForQuiet(t *testing.T) {
	type read struct {
		ok    bool
		state string
	}
	tests := []struct {
		name  string
		reads []read
		want  bool
		used  int
	}{
		{"quiet", []read{{true, "a"}, {true, "a"}}, true, 2},
		{"another writer, then quiet", []read{{true, "a"}, {true, "b"}, {true, "b"}}, true, 3},
		{"writers keep coming", []read{{true, "a"}, {true, "b"}, {true, "c"}, {true, "c"}}, true, 4},
		{"lost after a change", []read{{true, "a"}, {true, "b"}, {false, "c"}}, false, 3},
		{"lost at once", []read{{false, "a"}}, false, 1},
	}
	c := &signCall{s: &Signer{o: Options{SettleDelay: time.Microsecond}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := 0
			got, _, err := c.confirm(context.Background(), time.Millisecond, func() (bool, string, error) {
				r := tt.reads[used]
				used++
				return r.ok, r.state, nil
			})
			if err != nil || got != tt.want || used != tt.used {
				t.Errorf("confirm = %v, %v after %d read-backs; want %v after %d", got, err, used, tt.want, tt.used)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		used := 0
		got, _, err := c.confirm(context.Background(), time.Millisecond, func() (bool, string, error) {
			used++
			return true, string(rune('a' + used)), nil
		})
		if err != nil || !got || used != maxReadBacks {
			t.Errorf("confirm = %v, %v after %d read-backs; want true after %d", got, err, used, maxReadBacks)
		}
	})
}

// TestWaitOut checks what a write window leaves for the settle delay to
// outlast: the window less the shortest round trip for each request but
// one; all of it without a known round trip or for a single request; never
// less than nothing. settleDelay then adds up to half of that as jitter,
// within 20ms and 2s.
func TestWaitOut(t *testing.T) {
	ms := time.Millisecond
	digest, err := name.NewDigest("registry.example:5000/app@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		window           time.Duration
		trips            int
		shortest         func(string) time.Duration
		want             time.Duration
		wantMin, wantMax time.Duration // of settleDelay(want)
	}{
		{"no round trip known", 88 * ms, 4, nil, 88 * ms, 88 * ms, 133 * ms},
		{"loopback", 11 * ms, 4, func(string) time.Duration { return 300 * time.Microsecond }, 11*ms - 900*time.Microsecond, 20 * ms, 20 * ms},
		{"20ms away", 90 * ms, 4, func(string) time.Duration { return 21 * ms }, 27 * ms, 27 * ms, 42 * ms},
		{"20ms away, busy", 400 * ms, 4, func(string) time.Duration { return 21 * ms }, 337 * ms, 337 * ms, 507 * ms},
		{"one request", 30 * ms, 1, func(string) time.Duration { return 21 * ms }, 30 * ms, 30 * ms, 46 * ms},
		{"round trip beyond the window", 30 * ms, 4, func(string) time.Duration { return 21 * ms }, 0, 20 * ms, 20 * ms},
		{"the round trip of the digest's registry", 90 * ms, 4, func(h string) time.Duration {
			if h != "registry.example:5000" {
				return 0
			}
			return 21 * ms
		}, 27 * ms, 27 * ms, 42 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &signCall{s: &Signer{o: Options{ShortestRoundTrip: tt.shortest}}, digest: digest}
			got := c.waitOut(tt.window, tt.trips)
			if got != tt.want {
				t.Fatalf("waitOut(%v, %d) = %v, want %v", tt.window, tt.trips, got, tt.want)
			}
			for range 50 {
				if d := settleDelay(got); d < tt.wantMin || d > tt.wantMax {
					t.Fatalf("settleDelay(%v) = %v, want within [%v, %v]", got, d, tt.wantMin, tt.wantMax)
				}
			}
		})
	}
}
