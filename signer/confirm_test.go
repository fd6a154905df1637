package signer

import (
	"context"
	"testing"
	"time"
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
	j := &job{s: &Signer{o: Options{SettleDelay: time.Microsecond}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := 0
			got, err := j.confirm(context.Background(), time.Millisecond, func() (bool, string, error) {
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
		got, err := j.confirm(context.Background(), time.Millisecond, func() (bool, string, error) {
			used++
			return true, string(rune('a' + used)), nil
		})
		if err != nil || !got || used != maxReadBacks {
			t.Errorf("confirm = %v, %v after %d read-backs; want true after %d", got, err, used, maxReadBacks)
		}
	})
}
