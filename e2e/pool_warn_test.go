package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// TestPoolDownNodeWarning: a node of the pool that is down (a closed
// loopback port), given with --addr or in a builder file, is named on
// stderr as the user wrote it — its address, or its name in the file —
// with how to fix it in the user's terms (the flag, or the node's field
// in the file), never as a library option; the release completes on the
// bed's buildkitd and its JSON says the same.
func TestPoolDownNodeWarning(t *testing.T) {
	b := bed(t)
	down := "tcp://" + testutil.ClosedAddr(t) // a buildkitd that is down
	dir := t.TempDir()
	file := filepath.Join(dir, "builders.yaml")
	content := "nodes:\n  - name: bed\n    addr: " + b.BuildkitUnix() + "\n  - name: far-away\n    addr: " + down + "\n    insecure-tcp: true\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		node string // the node as the user wrote it
		fix  string // how to fix it, in the user's terms
	}{
		{"--addr", []string{"--addr", b.BuildkitUnix(), "--addr", down, "--insecure-buildkit-tcp"}, down, "point --addr / BUILDKIT_HOST at a running one"},
		{"builder file", []string{"--builders", file}, "far-away", "point the addr of node far-away in builder file " + file + " at a running one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const password = "pw-down-node"
			priv, _ := keyPair(t, password)
			ctxDir, df := buildContext(t, b)
			reg := b.PlainRegistry()
			args := append([]string{"release", "--insecure-registry", reg, "--context", ctxDir, "-f", df, "--progress", "quiet",
				"--image", uniqueRepo(t, reg), "--tag", "v1", "--key", priv, "--tlog-upload=false", "--insecure-ignore-tlog",
				"--platform", "linux/amd64"}, tt.args...)
			r := hallmark(t, []string{"COSIGN_PASSWORD=" + password}, args...)
			mustSucceed(t, r)
			var warning string
			for _, l := range strings.Split(r.Stderr, "\n") {
				if strings.HasPrefix(l, "hallmark: warning: buildkitd is down") {
					warning = l
				}
			}
			switch {
			case warning == "":
				t.Fatalf("no warning about the down node on stderr:\n%s", r.Stderr)
			case !strings.Contains(warning, "node="+tt.node+",") && !strings.Contains(warning, `node="`+tt.node+`"`):
				t.Errorf("warning does not name the node as written (%s):\n%s", tt.node, warning)
			case !strings.Contains(warning, tt.fix):
				t.Errorf("warning does not say how to fix it (%q):\n%s", tt.fix, warning)
			case strings.Contains(r.Stderr, "{builder."):
				t.Errorf("stderr shows a library option:\n%s", r.Stderr)
			}
			rel := parsePoolRelease(t, r)
			if len(rel.Down) != 1 || rel.Down[0].Node != tt.node || !strings.Contains(rel.Down[0].Error, tt.fix) {
				t.Errorf("down %+v, want %s with %q", rel.Down, tt.node, tt.fix)
			}
		})
	}
}
