package builder

import (
	"context"
	"errors"
	"fmt"
	"io"

	controlapi "github.com/moby/buildkit/api/services/control"
)

// ActiveBuilds is the number of builds buildkitd runs now: the distinct
// refs of its build history's active records (ListenBuildHistory with
// ActiveOnly and EarlyExit: the active records, then the stream ends).
// Every client's solves count, whoever started them.
func (b *Builder) ActiveBuilds(ctx context.Context) (int, error) {
	stream, err := b.c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, EarlyExit: true})
	if err != nil {
		return 0, fmt.Errorf("reading the active builds of buildkitd at %s: %s", b.addr, cleanError(err))
	}
	refs := map[string]bool{}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return len(refs), nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading the active builds of buildkitd at %s: %s", b.addr, cleanError(err))
		}
		if ev.GetType() == controlapi.BuildHistoryEventType_STARTED && ev.GetRecord().GetRef() != "" {
			refs[ev.GetRecord().GetRef()] = true
		}
	}
}
