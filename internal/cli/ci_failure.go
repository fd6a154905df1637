package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/hallmark-dev/hallmark/ci"
)

// reportCIFailure tells GitHub Actions about a failed command: an
// "::error::" workflow command on stderr (the runner reads commands there
// too: stdout carries only results), which annotates the run, and a
// section in the job's step summary. Elsewhere it does nothing. line is
// the error line, already free of secrets.
func reportCIFailure(env ci.Env, stderr io.Writer, args []string, line string, code int) {
	if env.Provider != ci.GitHubActions {
		return
	}
	command := "hallmark"
	if len(args) > 1 {
		command = "hallmark " + firstCommand(args[1:])
	}
	fmt.Fprintf(stderr, "::error title=%s failed (exit %d)::%s\n", escapeProperty(command), code, escapeData(line))
	if p := env.GitHubStepSummary(); p != "" {
		summary := fmt.Sprintf("### %s failed (exit %d)\n\n```\n%s\n```\n\n", command, code, strings.ReplaceAll(line, "```", "'''"))
		if err := appendFile(p, summary); err != nil {
			fmt.Fprintf(stderr, "hallmark: warning: %s\n", err)
		}
	}
}

// firstCommand is the first argument that is not a flag: the command.
func firstCommand(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
