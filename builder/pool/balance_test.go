package pool

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestCap: ceil(c·(total+1)/n), at least 1, exact quotients not rounded
// up; some candidate is always under it.
func TestCap(t *testing.T) {
	tests := []struct {
		factor   float64
		total, n int
		want     int
	}{
		{1.25, 0, 1, 2},        // one node: always under its cap
		{1.25, 0, 50, 1},       // an idle pool: one build each
		{1.25, 999, 50, 25},    // 1,000 builds on 50 nodes: mean 20, +25%
		{1.1, 999, 50, 22},     // +10%
		{1.5, 999, 50, 30},     // +50%
		{1, 9, 10, 1},          // ε = 0: a perfect spread
		{1.1, 9, 11, 1},        // 1.1·10/11 is 1, not 1.0000000000000002
		{1.25, 7, 10, 1},       // 1.25·8/10 = 1
		{1.25, 8, 10, 2},       // 1.25·9/10 = 1.125
		{1.25, 1, 2, 2},        // 1.25·2/2 = 1.25
		{2, 1, 2, 2},           // 2·2/2
		{1.25, 1e6, 3, 416668}, // large totals
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g·(%d+1)/%d", tt.factor, tt.total, tt.n), func(t *testing.T) {
			got := Cap(tt.factor, tt.total, tt.n)
			if got != tt.want {
				t.Errorf("Cap = %d, want %d", got, tt.want)
			}
			if got*tt.n <= tt.total {
				t.Errorf("Cap %d·%d nodes <= %d builds: every node could be at it", got, tt.n, tt.total)
			}
		})
	}
}

// TestBounded: the first node under the cap comes first, the others
// under it keep their order, the busy ones go last in theirs and are
// named with their load; an unknown load (absent) is 0.
func TestBounded(t *testing.T) {
	names := []string{"a", "b", "c", "d"} // rendezvous order
	tests := []struct {
		name      string
		loads     map[string]int
		factor    float64
		wantOrder string
		wantBusy  string
	}{
		{"idle", nil, 1.25, "a b c d", ""},
		{"even", map[string]int{"a": 3, "b": 3, "c": 3, "d": 3}, 1.25, "a b c d", ""},            // cap ceil(1.25·13/4) = 5
		{"first busy", map[string]int{"a": 5, "b": 1, "c": 0, "d": 0}, 1.25, "b c d a", "a 5/3"}, // cap ceil(1.25·7/4) = 3
		{"first two busy", map[string]int{"a": 4, "b": 3, "c": 0, "d": 1}, 1.25, "c d a b", "a 4/3 b 3/3"},
		{"at the cap is busy", map[string]int{"a": 2, "b": 0, "c": 0, "d": 0}, 1, "b c d a", "a 2/1"},  // cap ceil(3/4) = 1
		{"a looser factor keeps it", map[string]int{"a": 2, "b": 0, "c": 0, "d": 0}, 3, "a b c d", ""}, // cap ceil(3·3/4) = 3
		{"unknown is 0", map[string]int{"a": 9}, 1.25, "b c d a", "a 9/4"},
		{"a later busy node moves too", map[string]int{"a": 0, "b": 0, "c": 6, "d": 0}, 1.25, "a b d c", "c 6/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, busy := bounded(names, tt.loads, tt.factor)
			var bs []string
			for _, b := range busy {
				bs = append(bs, fmt.Sprintf("%s %d/%d", b.Node, b.Builds, b.Cap))
			}
			if got := strings.Join(order, " "); got != tt.wantOrder {
				t.Errorf("order %s, want %s", got, tt.wantOrder)
			}
			if got := strings.Join(bs, " "); got != tt.wantBusy {
				t.Errorf("busy %q, want %q", got, tt.wantBusy)
			}
			if len(order) != len(names) || !slices.Equal(slices.Sorted(slices.Values(order)), names) {
				t.Errorf("order %v drops or adds nodes", order)
			}
			// Placed.Busy: the busy nodes ranked before the one that builds.
			var want []Busy
			for _, b := range busy {
				if slices.Index(names, b.Node) < slices.Index(names, order[0]) {
					want = append(want, b)
				}
			}
			if got := passedOver(names, busy, order[0]); !slices.Equal(got, want) {
				t.Errorf("passed over on the way to %s: %v, want %v", order[0], got, want)
			}
		})
	}
}

// TestBalanceValidate: 0 is off, at least 1 is a factor; the rest is one
// line saying what to give.
func TestBalanceValidate(t *testing.T) {
	for _, f := range []float64{0, 1, 1.1, 1.25, 3} {
		if err := (Balance{MaxLoadFactor: f}).Validate(); err != nil {
			t.Errorf("%g: %v", f, err)
		}
	}
	for _, f := range []float64{-1, 0.5, 0.999, math.Inf(1), math.NaN()} {
		err := (Balance{MaxLoadFactor: f}).Validate()
		if err == nil || !strings.Contains(err.Error(), "want 0 (off) or at least 1") {
			t.Errorf("%g: %v, want the range", f, err)
		}
	}
}
