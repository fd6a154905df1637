package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// proc is one process run: wall time from fork to exit, peak RSS and CPU
// time from wait4's rusage, and registry requests per stage.
type proc struct {
	step     string // build, digest, sign, verify, release, ...
	wall     time.Duration
	cpu      time.Duration
	maxRSS   int64 // KiB
	requests map[string]int
	logReqs  int                      // requests to the transparency log
	logTime  time.Duration            // time spent in them
	stages   map[string]time.Duration // hallmark's sections, as seen on stderr
	stdout   string
	stderr   string
}

// runner starts the processes measured, one at a time, each through the
// rusage helper (hack/bench/rusage), which reports its wall time, peak RSS
// and CPU time.
type runner struct {
	tr      *tracker
	rusage  string
	verbose bool
	timeout time.Duration
	logs    *logCounter // requests through the transparency log's proxy
}

// run runs argv as step. With sections, requests are attributed to the
// GitLab sections the process prints; otherwise all to step.
func (r *runner) run(ctx context.Context, step string, env, argv []string, sections bool) (*proc, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.rusage, argv...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	resR, resW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer resR.Close()
	cmd.ExtraFiles = []*os.File{resW}
	var pr, pw *os.File
	if sections {
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			return nil, err
		}
		defer pr.Close()
		cmd.Stderr = pw
		r.tr.reset("setup", pr)
	} else {
		cmd.Stderr = &stderr
		r.tr.reset(step, nil)
	}
	logsBefore, logNanos := r.logs.n.Load(), r.logs.nanos.Load()
	start := time.Now()
	err = cmd.Start()
	resW.Close()
	if err != nil {
		if pw != nil {
			pw.Close()
		}
		return nil, err
	}
	var res []byte
	resDone := make(chan struct{})
	go func() {
		defer close(resDone)
		res, _ = io.ReadAll(resR)
	}()
	done := make(chan struct{})
	if pw != nil {
		pw.Close()
		go func() {
			defer close(done)
			for r.tr.poll() {
				time.Sleep(500 * time.Microsecond)
			}
		}()
	} else {
		close(done)
	}
	err = cmd.Wait()
	<-done
	<-resDone
	counts, marks, errText := r.tr.result()
	if !sections {
		errText = stderr.String()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s\n%s", strings.Join(argv, " "), err, stdout.String(), tail(errText, 40))
	}
	p := &proc{step: step, requests: counts, stdout: stdout.String(), stderr: errText,
		logReqs: int(r.logs.n.Load() - logsBefore), logTime: time.Duration(r.logs.nanos.Load() - logNanos)}
	var wall, user, sys int64
	var code int
	if _, err := fmt.Sscanf(string(res), "%d %d %d %d %d", &wall, &p.maxRSS, &user, &sys, &code); err != nil {
		return nil, fmt.Errorf("%s: no usage from the rusage helper: %q", strings.Join(argv, " "), res)
	}
	p.wall, p.cpu = time.Duration(wall), time.Duration(user+sys)
	if sections {
		p.stages = stageTimes(marks, start.Add(time.Since(start)))
	}
	if r.verbose {
		fmt.Fprintf(os.Stderr, "bench:   %-8s %7.1f ms  %4d MiB  %v log:%d/%.0fms %v\n", step, ms(p.wall), p.maxRSS/1024, counts, p.logReqs, ms(p.logTime), p.stages)
		for _, l := range r.tr.requestLog() {
			fmt.Fprintf(os.Stderr, "bench:     %s\n", l)
		}
	}
	return p, nil
}

// stageTimes turns the stage marks into durations per stage.
func stageTimes(marks []mark, end time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	for i, m := range marks {
		next := end
		if i+1 < len(marks) {
			next = marks[i+1].at
		}
		out[m.stage] += next.Sub(m.at)
	}
	return out
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serve serves h on a free 127.0.0.1 port.
func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return l.Addr().String(), func() { srv.Close() }, nil
}
