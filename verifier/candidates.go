package verifier

import (
	"context"
	"fmt"
	"log/slog"
)

// DefaultMaxCandidates is how many signature candidates — signature
// layers of the legacy tag and signature referrers — one verification
// examines at most (Options.MaxCandidates). Each costs a registry request
// or more: a registry listing 100,000 referrers made 100,000 sequential
// requests (about 33 minutes at 20 ms each). 500 take about 10 s there.
const DefaultMaxCandidates = 500

// candidates counts the candidates of one verification against the cap.
type candidates struct {
	max, dropped int
}

func newCandidates(max int) *candidates {
	if max <= 0 {
		max = DefaultMaxCandidates
	}
	return &candidates{max: max}
}

// capped keeps as many of list as the cap still allows, given used
// candidates already kept, and counts the rest as skipped.
func capped[T any](c *candidates, list []T, used int) []T {
	room := max(c.max-used, 0)
	if len(list) > room {
		c.dropped += len(list) - room
		list = list[:room]
	}
	return list
}

// skipped is how many candidates were not examined.
func (c *candidates) skipped() int { return c.dropped }

// report says that a verification skipped candidates, if it did: in a
// warning, in its result (Result.Skipped) and in its error, which it
// wraps.
func (c *candidates) report(ctx context.Context, log *slog.Logger, res *Result, err error) (*Result, error) {
	n := c.skipped()
	if n == 0 {
		return res, err
	}
	log.WarnContext(ctx, "too many signature candidates; only the first were examined", "examined", c.max, "skipped", n)
	if res != nil {
		res.Skipped = n
	}
	if err != nil {
		err = fmt.Errorf("%w (only the first %d of %d signature candidates were examined: raise the candidate limit to examine more)", err, c.max, c.max+n)
	}
	return res, err
}
