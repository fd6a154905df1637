package doctor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/builder"
)

// checkBuildkitd connects to buildkitd as a build would and asks for its
// version.
func checkBuildkitd(ctx context.Context, o Options) Check {
	c := newCheck(CheckBuildkitd, StageBuild)
	opts := o.Buildkit
	discovered := opts.Addr == ""
	c.Facts["discovered"] = strconv.FormatBool(discovered)
	addr, err := builder.ResolveAddress(opts)
	if err != nil {
		return c.fail(err.Error(), buildkitdHint(opts, errors.Is(err, builder.ErrNoBuildkitd)))
	}
	c.Facts["address"] = addr
	if err := opts.Validate(); err != nil {
		return c.fail(err.Error(), buildkitdHint(opts, false))
	}
	opts.Timeout = o.Timeout
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	b, err := builder.Connect(ctx, opts)
	if err != nil {
		return c.fail(err.Error(), buildkitdHint(opts, false))
	}
	defer b.Close()
	info, err := b.Info(ctx)
	if err != nil {
		return c.fail(fmt.Sprintf("buildkitd at %s answered, then failed to report its version: %v", addr, err), "")
	}
	v := info.BuildkitVersion
	c.Facts["version"], c.Facts["package"], c.Facts["revision"] = v.Version, v.Package, v.Revision
	how := "from {builder.ConnectOptions.Addr}"
	if discovered {
		how = "found at a default socket"
	}
	return c.ok(fmt.Sprintf("BuildKit %s at %s (%s)", strings.TrimSpace(v.Version+" "+shortRevision(v.Revision)), addr, how))
}

// buildkitdHint says where buildkitd is looked for and how to start one,
// rootless setups first; notFound means no default socket exists.
func buildkitdHint(o builder.ConnectOptions, notFound bool) string {
	if strings.HasPrefix(o.Addr, "tcp://") {
		return tcpHint(o)
	}
	rootless := "rootless: start `rootlesskit buildkitd` as this user; it listens on "
	if o.RuntimeDir != "" {
		rootless += filepath.Join(o.RuntimeDir, "buildkit", "buildkitd.sock")
	} else {
		rootless += "$XDG_RUNTIME_DIR/buildkit/buildkitd.sock (XDG_RUNTIME_DIR is not set here, so that socket is not looked for)"
	}
	hint := rootless + "; rootful: " + builder.RootfulSocket + "; elsewhere: set {builder.ConnectOptions.Addr} (unix://, tcp://, kube-pod://, docker-container://)"
	if !notFound && o.Addr != "" {
		hint = "is buildkitd running at " + o.Addr + "? " + hint
	}
	return hint
}

// tcpHint is buildkitdHint for a tcp:// address: with TLS files, that
// they match buildkitd's; without, that they are missing (or that plain
// tcp was allowed and nothing answers there).
func tcpHint(o builder.ConnectOptions) string {
	switch {
	case o.TLS != (builder.TLS{}):
		return "check that buildkitd listens on " + o.Addr + " and that {builder.TLS.CACert}, {builder.TLS.Cert} and {builder.TLS.Key} match its certificates"
	case o.AllowInsecureTCP:
		return "check that buildkitd listens on " + o.Addr + " (buildkitd --addr " + o.Addr + "); if it serves TLS, give {builder.TLS.CACert}, {builder.TLS.Cert} and {builder.TLS.Key} instead of {builder.ConnectOptions.AllowInsecureTCP}"
	}
	return "a tcp:// buildkitd needs mutual TLS: give {builder.TLS.CACert}, {builder.TLS.Cert} and {builder.TLS.Key} (buildkitd's --tlscacert, --tlscert, --tlskey); plain tcp only on a trusted host: {builder.ConnectOptions.AllowInsecureTCP}"
}

func shortRevision(rev string) string {
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return "(" + rev + ")"
}
