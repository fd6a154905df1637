package cli

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeFlag is a flag named in a README.md table's first cell.
var readmeFlag = regexp.MustCompile(`(?:^|[\s,/(\x60])(--?[a-z0-9][a-z0-9-]*)`)

// TestReadmeFlagsExist fails when a README.md table names a flag no
// command has (renamed or removed): README's tables describe flags in
// prose, docs/flags.md (generated) lists every one of them.
func TestReadmeFlagsExist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(io.Discard, io.Discard)
	known := map[string]bool{}
	add := func(names []string) {
		for _, n := range names {
			if len(n) == 1 {
				known["-"+n] = true
			} else {
				known["--"+n] = true
			}
		}
	}
	for _, f := range app.Flags {
		add(f.Names())
	}
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			add(f.Names())
		}
	}
	checked := 0
	for i, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		first := strings.SplitN(line[1:], " | ", 2)[0]
		for _, m := range readmeFlag.FindAllStringSubmatch(first, -1) {
			checked++
			if !known[m[1]] {
				t.Errorf("README.md:%d names %s, which no hallmark command has", i+1, m[1])
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d flags in README.md's tables: is the table format still `| \x60--flag\x60 | ... |`?", checked)
	}
}
