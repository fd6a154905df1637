package cli

import (
	"strings"
	"testing"
)

// TestHelpWrapped checks that every command's --help fits the terminal
// width: 80 columns when unknown, $COLUMNS otherwise (issue 16 item 5),
// and lists cosign's flags apart (item 1).
func TestHelpWrapped(t *testing.T) {
	for _, columns := range []int{80, 120} {
		for _, cmd := range []string{"", "build", "sign", "verify", "release", "annotations"} {
			t.Run(cmd, func(t *testing.T) {
				t.Setenv("COLUMNS", map[int]string{80: "", 120: "120"}[columns])
				args := []string{"--help"}
				if cmd != "" {
					args = []string{cmd, "--help"}
				}
				code, out, errOut := run(t, args...)
				if code != 0 || out == "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				widest := 0
				for _, l := range strings.Split(out, "\n") {
					widest = max(widest, len([]rune(l)))
					if len([]rune(l)) > columns && strings.Contains(strings.TrimSpace(l), " ") {
						t.Errorf("line of %d columns (max %d): %q", len([]rune(l)), columns, l)
					}
				}
				if cmd == "sign" && columns == 120 && widest <= 80 {
					t.Errorf("COLUMNS=120 ignored: widest line %d", widest)
				}
				if (cmd == "sign" || cmd == "verify") && !strings.Contains(out, "cosign compatibility\n") {
					t.Errorf("no cosign compatibility category in %s --help", cmd)
				}
			})
		}
	}
}
