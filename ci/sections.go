package ci

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Section starts a collapsible section of the job log on w — GitLab's
// section_start/section_end markers, GitHub Actions' ::group:: — and
// returns the function that ends it. Elsewhere it prints nothing.
func (e Env) Section(w io.Writer, name, title string) (end func()) {
	switch e.Provider {
	case GitLab:
		id := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
				return r
			}
			return '_'
		}, strings.ToLower(name))
		fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s[collapsed=false]\r\x1b[0K%s\n", time.Now().Unix(), id, title)
		return func() { fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", time.Now().Unix(), id) }
	case GitHubActions:
		fmt.Fprintf(w, "::group::%s\n", title)
		return func() { fmt.Fprintln(w, "::endgroup::") }
	}
	return func() {}
}
