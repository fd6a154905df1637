package cli

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// defaultHelpWidth is the width --help wraps at when the terminal's is
// unknown (not a terminal, no $COLUMNS).
const defaultHelpWidth = 80

func init() {
	cli.HelpPrinter = printWrappedHelp
}

// printWrappedHelp renders urfave/cli's help and wraps it at the width of
// the terminal w is (or $COLUMNS, else 80).
func printWrappedHelp(w io.Writer, templ string, data any) {
	var buf bytes.Buffer
	cli.HelpPrinterCustom(&buf, templ, data, nil)
	_, _ = io.WriteString(w, wrapHelp(buf.String(), helpWidth(w, os.Getenv("COLUMNS"))))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressMode is --progress, with tty falling back to plain (with a
// warning) when stderr is not a terminal, as buildx does.
func progressMode(e *env, mode string) string {
	if mode == "tty" && !isTerminal(e.stderr) {
		e.logger().Warn("--progress tty: stderr is not a terminal; showing plain progress")
		return "plain"
	}
	return mode
}

// helpWidth is the terminal width of w, else columns ($COLUMNS), else 80.
func helpWidth(w io.Writer, columns string) int {
	if isTerminal(w) {
		if width, _, err := term.GetSize(int(w.(*os.File).Fd())); err == nil && width > 0 {
			return width
		}
	}
	if n, err := strconv.Atoi(columns); err == nil && n > 0 {
		return n
	}
	return defaultHelpWidth
}

// flagLine is an option line of urfave/cli's help: indent, names (with
// their placeholders) and, after two or more spaces, the usage.
var flagLine = regexp.MustCompile(`^(\s+)(-\S.*?)(?:\s{2,}(\S.*))?$`)

// repeated is urfave/cli's "[ --flag VALUE ]" after a repeatable flag.
var repeated = regexp.MustCompile(` \[ -.*\]$`)

// wrapHelp wraps help text at width: option lines get their usage in a
// column (on the next line when the names are long), other lines keep
// their indent.
func wrapHelp(s string, width int) string {
	width = max(width, 40)
	lines := reflowDescription(strings.Split(s, "\n"))
	col := 0
	for _, l := range lines {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			col = max(col, len(m[1])+len(repeated.ReplaceAllString(m[2], " ..."))+2)
		}
	}
	col = min(col, width/3+2)
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			b.WriteString(wrapLine(l, width))
			continue
		}
		names := m[1] + repeated.ReplaceAllString(m[2], " ...")
		switch {
		case m[3] == "":
			b.WriteString(names)
		case len(names)+2 <= col:
			b.WriteString(names + strings.Repeat(" ", col-len(names)) + fill(m[3], 0, col, width))
		default:
			b.WriteString(names + "\n" + fill(m[3], col, col, width))
		}
	}
	return b.String()
}

// reflowDescription joins the DESCRIPTION section's lines into one, to be
// filled at the help's width: its line breaks were made for no width in
// particular.
func reflowDescription(lines []string) []string {
	var out []string
	in := false
	for _, l := range lines {
		switch {
		case l == "DESCRIPTION:":
			in = true
		case in && (l == "" || !strings.HasPrefix(l, " ")):
			in = false
		case in && strings.HasPrefix(out[len(out)-1], " "):
			out[len(out)-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// column is a line with a second column, such as a command and its usage.
var column = regexp.MustCompile(`^(\s*\S+\s{2,})\S`)

// wrapLine wraps a line other than an option's: a line that fits stays
// as it is; a longer one keeps its indent, or its second column's.
func wrapLine(l string, width int) string {
	if len(l) <= width {
		return l
	}
	indent := len(l) - len(strings.TrimLeft(l, " "))
	if m := column.FindStringSubmatch(l); m != nil && len(m[1]) < width/2 {
		return m[1] + fill(l[len(m[1]):], 0, len(m[1]), width)
	}
	return fill(strings.TrimSpace(l), indent, indent, width)
}

// fill breaks s into lines of at most width columns (a longer word stays
// whole), the first indented by first spaces, the others by rest.
func fill(s string, first, rest, width int) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", first))
	pos, start := first, true
	if first == 0 {
		pos = rest // the caller wrote the column already
	}
	for _, word := range strings.Fields(s) {
		if !start && pos+1+len(word) > width {
			b.WriteString("\n" + strings.Repeat(" ", rest))
			pos, start = rest, true
		}
		if !start {
			b.WriteByte(' ')
			pos++
		}
		b.WriteString(word)
		pos += len(word)
		start = false
	}
	return b.String()
}
