package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// node is a buildkitd the bench starts for itself (never the bed's): the
// bed's binary with its own state directory, socket and config, stopped
// and removed when the case ends.
type node struct {
	name, dir, addr string
	platforms       []string
	cmd             *exec.Cmd
	done            chan struct{}
}

// nodeSpec is what a node is started with: the platforms its OCI worker
// claims (--oci-worker-platform; none: the host's) and the worker's
// max-parallelism (0: buildkitd's default, unlimited).
type nodeSpec struct {
	name        string
	platforms   []string
	parallelism int
}

// startNode starts a buildkitd for spec under parent, as root with the
// overlayfs snapshotter as the bed starts its own (hack/testbed.sh
// start_buildkitd), and waits until its worker answers.
func (s *suite) startNode(ctx context.Context, parent string, spec nodeSpec) (*node, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("starting buildkitd %s: the bench runs its own buildkitd as root, as the bed does: run it as root", spec.name)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return nil, fmt.Errorf("starting buildkitd %s: %w (apt-get install runc)", spec.name, err)
	}
	dir, err := os.MkdirTemp(parent, spec.name+"-")
	if err != nil {
		return nil, err
	}
	n := &node{name: spec.name, dir: dir, addr: "unix://" + filepath.Join(dir, "buildkitd.sock"), platforms: spec.platforms, done: make(chan struct{})}
	conf := ""
	if spec.parallelism > 0 {
		conf = fmt.Sprintf("[worker.oci]\n  max-parallelism = %d\n", spec.parallelism)
	}
	cfg := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"--config", cfg, "--root", filepath.Join(dir, "root"), "--addr", n.addr,
		"--oci-worker=true", "--oci-worker-binary", runc, "--containerd-worker=false"}
	for _, p := range spec.platforms {
		args = append(args, "--oci-worker-platform", p)
	}
	log, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		return nil, err
	}
	// Not CommandContext: an interrupted bench still stops its nodes
	// gently (stop), in its own process group.
	n.cmd = exec.Command(s.b.buildkitd, args...)
	n.cmd.Stdout, n.cmd.Stderr = log, log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting buildkitd %s: %w", spec.name, err)
	}
	go func() {
		n.cmd.Wait() //nolint:errcheck // the log says why
		log.Close()
		close(n.done)
	}()
	if err := n.waitReady(ctx, s.b.buildctl); err != nil {
		return nil, errors.Join(err, n.stop())
	}
	return n, nil
}

// waitReady polls the node's workers until they list its first platform.
func (n *node) waitReady(ctx context.Context, buildctl string) error {
	want := "linux/"
	if len(n.platforms) > 0 {
		want = n.platforms[0]
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.CommandContext(ctx, buildctl, "--addr", n.addr, "debug", "workers").Output()
		if strings.Contains(string(out), want) {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("buildkitd %s exited at start:\n%s", n.name, n.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("buildkitd %s: no worker with %s after 60s:\n%s", n.name, want, n.logTail())
		}
	}
}

func (n *node) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "buildkitd.log"))
	return tail(string(b), 20)
}

// stop ends the node (SIGTERM, then SIGKILL after 20 s), unmounts what it
// left mounted and removes its state directory.
func (n *node) stop() error {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return nil
	}
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second):
			_ = n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.done
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], n.dir+"/") {
			_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(n.dir); err != nil {
		return fmt.Errorf("removing buildkitd %s's state: %w", n.name, err)
	}
	return nil
}

// stopNodes stops every node, reporting each failure.
func stopNodes(nodes []*node) error {
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.stop())
	}
	return errors.Join(errs...)
}
