package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
)

// tracker attributes every registry request to the stage that made it.
// For a CLI step the stage is the step. For hallmark release it follows the
// GitLab section markers (section_start:...:hallmark_sign) the process
// writes on stderr: the proxy drains the stderr pipe, without blocking,
// before it counts a request. A process writes a marker before it sends
// that stage's first request, so the marker is in the pipe by the time the
// request arrives and the attribution is exact.
type tracker struct {
	mu       sync.Mutex
	stage    string
	counts   map[string]int
	log      []string // METHOD path (stage), for -v
	src      *os.File // stderr pipe of a process with sections; nil otherwise
	eof      bool
	partial  []byte
	stderr   bytes.Buffer
	marks    []mark
	keepLogs bool
}

// mark is a stage boundary as the bench saw it.
type mark struct {
	stage string
	at    time.Time
}

var sectionRE = regexp.MustCompile(`section_(start|end):\d+:hallmark_([a-z0-9_.-]+)`)

func newTracker() *tracker { return &tracker{stage: "setup", counts: map[string]int{}} }

// reset starts counting for a new process whose stage is stage.
func (t *tracker) reset(stage string, src *os.File) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stage, t.src, t.eof, t.partial = stage, src, false, nil
	t.counts, t.log, t.marks = map[string]int{}, nil, []mark{{stage, time.Now()}}
	t.stderr.Reset()
}

// result returns the counts, the stage marks and stderr of the process.
func (t *tracker) result() (map[string]int, []mark, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts, t.marks, t.stderr.String()
}

func (t *tracker) requestLog() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.log...)
}

// count attributes one request.
func (t *tracker) count(r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drainLocked()
	t.counts[t.stage]++
	if t.keepLogs {
		at := time.Since(t.marks[0].at)
		t.log = append(t.log, fmt.Sprintf("%6.1f ms %s %s (%s)", ms(at), r.Method, r.URL.Path, t.stage))
	}
}

// poll drains the stderr pipe; it reports false at end of file.
func (t *tracker) poll() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drainLocked()
	return !t.eof
}

// drainLocked reads what the pipe holds now, never waiting for more.
func (t *tracker) drainLocked() {
	if t.src == nil || t.eof {
		return
	}
	rc, err := t.src.SyscallConn()
	if err != nil {
		return
	}
	var buf [8192]byte
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), buf[:])
			return true // never park: EAGAIN means nothing more now
		}); err != nil {
			return
		}
		if rerr != nil {
			return
		}
		if n == 0 {
			t.eof = true
			return
		}
		t.feed(buf[:n])
	}
}

// feed records stderr and follows the section markers.
func (t *tracker) feed(b []byte) {
	t.stderr.Write(b)
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			return
		}
		line := t.partial[:i]
		t.partial = t.partial[i+1:]
		m := sectionRE.FindSubmatch(line)
		if m == nil {
			continue
		}
		if string(m[1]) == "start" {
			t.stage = string(m[2])
		} else {
			t.stage = "other"
		}
		t.marks = append(t.marks, mark{t.stage, time.Now()})
		if t.keepLogs {
			t.log = append(t.log, fmt.Sprintf("%6.1f ms -- %s", ms(time.Since(t.marks[0].at)), t.stage))
		}
	}
}

// countingProxy is internal/faultproxy with no faults, in front of one
// registry, counting requests into the tracker.
type countingProxy struct {
	addr string
	stop func()
}

// startProxy starts the proxy; each request is held back for *delay.
func startProxy(upstream string, t *tracker, delay *atomic.Int64) (*countingProxy, error) {
	fp, err := faultproxy.New("http://"+upstream, faultproxy.Options{Rate: 0,
		Delay: func(*http.Request) time.Duration { return time.Duration(delay.Load()) }})
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.count(r)
		fp.ServeHTTP(w, r)
	})
	addr, stop, err := serve(h)
	if err != nil {
		return nil, err
	}
	return &countingProxy{addr: addr, stop: stop}, nil
}

// logCounter counts the requests to the transparency log and the time
// spent in them (nanoseconds, summed).
type logCounter struct{ n, nanos atomic.Int64 }

// startLogProxy starts a counting proxy in front of the transparency log at
// upstream (a URL), counting into n, apart from the registry's requests.
func startLogProxy(upstream string, n *logCounter) (*countingProxy, error) {
	fp, err := faultproxy.New(upstream, faultproxy.Options{Rate: 0})
	if err != nil {
		return nil, err
	}
	addr, stop, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		fp.ServeHTTP(w, r)
		n.n.Add(1)
		n.nanos.Add(int64(time.Since(start)))
	}))
	if err != nil {
		return nil, err
	}
	return &countingProxy{addr: addr, stop: stop}, nil
}
