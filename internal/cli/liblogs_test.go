package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestSlogHookLevels: a library's logrus entry reaches hallmark's log as a
// warning at most (its "error" is not the command's), info and debug as
// such.
func TestSlogHookLevels(t *testing.T) {
	for _, tt := range []struct {
		in   logrus.Level
		want string
	}{
		{logrus.ErrorLevel, "level=WARN"},
		{logrus.WarnLevel, "level=WARN"},
		{logrus.InfoLevel, "level=INFO"},
		{logrus.DebugLevel, "level=DEBUG"},
	} {
		t.Run(tt.in.String(), func(t *testing.T) {
			var buf bytes.Buffer
			h := &slogHook{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			if err := h.Fire(&logrus.Entry{Level: tt.in, Message: "write failed", Data: logrus.Fields{"ref": "layer-1"}}); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); !strings.Contains(got, tt.want) || !strings.Contains(got, "ref=layer-1") {
				t.Errorf("logged %q, want %s with the entry's fields", got, tt.want)
			}
		})
	}
}
