package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

// defaultTimeout is a sign's or verify's deadline, as cosign's --timeout.
const defaultTimeout = 3 * time.Minute

// timeoutGroup bounds a whole command, so that no registry or service can
// keep it waiting past the deadline (each request is bounded too, by
// --request-timeout).
type timeoutGroup struct {
	d time.Duration
}

func (*timeoutGroup) title() string { return "timeout" }

func (g *timeoutGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Value: defaultTimeout, Usage: "give up after `DURATION` (e.g. 90s, 5m; 0: never)", EnvVars: []string{"HALLMARK_TIMEOUT"}, Destination: &g.d},
	}
}

// run runs action with c.Context bounded by the timeout, and says so when
// the deadline is what stopped it.
func (g *timeoutGroup) run(c *cli.Context, action func(*cli.Context) error) error {
	if g.d < 0 {
		return usageErr("--timeout %s is negative", g.d)
	}
	if g.d == 0 {
		return action(c)
	}
	parent := c.Context
	ctx, cancel := context.WithTimeout(parent, g.d)
	defer cancel()
	c.Context = ctx
	defer func() { c.Context = parent }()
	err := action(c)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("gave up after --timeout %s: %w", g.d, err)
	}
	return err
}
