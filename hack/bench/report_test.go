package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteKeepsOtherSections: a run rewrites its groups' sections and
// keeps the others and the notes, in the file's order.
func TestWriteKeepsOtherSections(t *testing.T) {
	old := "# Benchmarks\n\nold header\n\n" +
		sectionMarker + "release -->\n## old release\n\nold release table\n\n" +
		sectionMarker + "pool -->\n## old pool\n\nold pool table\n\n" +
		notesMarker + "\nthe notes\n"
	smp := sample{procs: []*proc{{step: "release", wall: time.Second}}}
	cmp := &comparison{name: "c", a: "A", b: "B", as: []sample{smp}, bs: []sample{smp}, target: 1}
	tests := []struct {
		name         string
		rep          report
		want, absent []string // in this order / absent
	}{
		{"pool ran", report{pool: []*comparison{cmp, cmp}, runs: map[string]groupRun{"pool": {}}},
			[]string{"old release table", "## A release over a pool", "the notes"}, []string{"old pool table", "old header"}},
		{"cache ran", report{cache: []*comparison{cmp, cmp}, runs: map[string]groupRun{"cache": {}}},
			[]string{"old release table", "old pool table", "## The cache that follows", "the notes"}, nil},
		{"nothing ran", report{runs: map[string]groupRun{}},
			[]string{"old release table", "old pool table", "the notes"}, []string{"## The cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b.md")
			if err := os.WriteFile(out, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			rep := tt.rep
			if err := write(out, &rep); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, at := string(b), 0
			for _, w := range tt.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("%q missing or out of order in:\n%s", w, got)
				}
				at += i + len(w)
			}
			for _, u := range tt.absent {
				if strings.Contains(got, u) {
					t.Errorf("%q still there:\n%s", u, got)
				}
			}
		})
	}
}
