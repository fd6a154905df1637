// Command rusage runs a command and writes its wall time, peak RSS and CPU
// time to file descriptor 3, for hack/bench:
//
//	rusage CMD [ARG...]   # fd 3: "WALL_NS MAXRSS_KIB USER_NS SYS_NS EXIT_CODE\n"
//
// Why a separate, small process: Linux starts a child of a Go program with
// vfork, and the child's ru_maxrss then includes the high-water RSS of the
// parent it was forked from — the benchmark's own. Started from this small
// program, a command's max RSS is its own (this program's is a few MiB).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rusage CMD [ARG...] (results on fd 3)")
		os.Exit(2)
	}
	out := os.NewFile(3, "results")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(127)
	}
	st := cmd.ProcessState
	var rss int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	fmt.Fprintf(out, "%d %d %d %d %d\n", wall, rss, st.UserTime(), st.SystemTime(), st.ExitCode())
	os.Exit(st.ExitCode())
}
