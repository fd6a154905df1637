package testutil

import (
	"fmt"
	"net/http"
	"sync"
)

// GatedDockerfile builds linux/amd64 at once and holds linux/arm64's RUN
// step until the gate (build argument GATE, an URL on the host: the bed's
// buildkitd run steps in the host's network) answers: "go" passes,
// anything else fails the step; it gives up after a minute (exit 2). REV
// makes each build new. The context needs the bed's busybox.
const GatedDockerfile = `FROM scratch
COPY busybox /bin/busybox
ARG TARGETPLATFORM
ARG GATE
ARG REV
RUN ["/bin/busybox", "sh", "-c", "echo $REV > /rev; [ \"$TARGETPLATFORM\" = linux/arm64 ] || exit 0; i=0; until /bin/busybox wget -q -O /gate \"$GATE\"; do i=$((i+1)); [ $i -lt 600 ] || exit 2; /bin/busybox sleep 0.1; done; /bin/busybox grep -qx go /gate"]
`

// PlatformGate is GatedDockerfile's gate: it answers 503 until opened,
// then its verdict.
type PlatformGate struct {
	verdict string
	open    chan struct{}
	once    sync.Once
}

// NewPlatformGate returns a closed gate that, once opened, answers
// verdict ("go" lets the step pass).
func NewPlatformGate(verdict string) *PlatformGate {
	return &PlatformGate{verdict: verdict, open: make(chan struct{})}
}

// Open opens the gate.
func (g *PlatformGate) Open() { g.once.Do(func() { close(g.open) }) }

// ServeHTTP answers 503 while the gate is closed, then the verdict.
func (g *PlatformGate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-g.open:
		fmt.Fprintln(w, g.verdict)
	default:
		http.Error(w, "not yet", http.StatusServiceUnavailable)
	}
}
