package cli

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

func TestTimeoutGroup(t *testing.T) {
	blocked := func(c *cli.Context) error { <-c.Context.Done(); return c.Context.Err() }
	quick := func(*cli.Context) error { return nil }
	tests := []struct {
		name   string
		d      time.Duration
		action func(*cli.Context) error
		says   string // "" for no error
	}{
		{"deadline named", 50 * time.Millisecond, blocked, "gave up after --timeout 50ms"},
		{"done in time", time.Minute, quick, ""},
		{"never", 0, quick, ""},
		{"negative", -time.Second, quick, "--timeout -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli.NewContext(cli.NewApp(), flag.NewFlagSet("t", flag.ContinueOnError), nil)
			c.Context = t.Context()
			err := (&timeoutGroup{d: tt.d}).run(c, tt.action)
			if tt.says == "" {
				if err != nil {
					t.Fatalf("run = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("run = %v, want it to say %q", err, tt.says)
			}
			if tt.d > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not wrap context.DeadlineExceeded", err)
			}
			if c.Context != t.Context() {
				t.Error("the command's context was not restored")
			}
		})
	}
}
