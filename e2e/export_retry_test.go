package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// exportRetried is the warning hallmark logs before exporting again.
const exportRetried = "exporting again"

// TestBuildExportRetried: buildkitd's push that fails on a transient
// registry error ("blob upload unknown": the registry lost the upload) is
// exported again, bounded; a failing build step is never retried.
func TestBuildExportRetried(t *testing.T) {
	b := bed(t)
	reg := b.PlainRegistry()
	tests := []struct {
		name      string
		lose      int64 // buildkitd's blob upload PUTs answered 404 BLOB_UPLOAD_UNKNOWN; -1 is all
		failRun   bool
		wantCode  int
		wantRetry int
	}{
		{"one upload lost: exported again", 1, false, 0, 1},
		{"every upload lost: bounded", -1, false, exitBuild, 3}, // builder.DefaultExportAttempts - 1
		{"failing RUN: never retried", -1, true, exitBuild, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var lost atomic.Int64
			pick := func(r *http.Request) faultproxy.Fault {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") &&
					(tt.lose < 0 || lost.Add(1) <= tt.lose) {
					return faultproxy.UploadUnknown
				}
				return ""
			}
			p, addr, _ := testutil.FaultProxy(t, "http://"+reg, faultproxy.Options{Pick: pick})
			ctxDir, df := buildContext(t, b)
			if tt.failRun {
				df = filepath.Join(t.TempDir(), "Dockerfile.fail")
				if err := os.WriteFile(df, []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"false\"]\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			repoPath := strings.TrimPrefix(uniqueRepo(t, "x"), "x/")
			r := hallmark(t, nil, "build", "--addr", b.BuildkitUnix(), "--insecure-registry", addr, "--progress", "quiet", "-f", df,
				"--build-arg", fmt.Sprintf("GREETING=retry-%d", time.Now().UnixNano()), "--tag", addr+"/"+repoPath+":v1", ctxDir)
			if r.Code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", r.Code, tt.wantCode, r)
			}
			if n := strings.Count(r.Stderr, exportRetried); n != tt.wantRetry {
				t.Errorf("exported again %d times, want %d\n%s", n, tt.wantRetry, r.Stderr)
			}
			injected := 0
			for _, req := range p.Requests() {
				if req.Fault == faultproxy.UploadUnknown {
					injected++
				}
			}
			if !tt.failRun && injected == 0 {
				t.Error("no upload was lost: the test tested nothing")
			}
			if tt.wantCode == exitBuild && !tt.failRun && !strings.Contains(r.Stderr, "blob upload unknown") {
				t.Errorf("the error does not name the registry's answer:\n%s", r.Stderr)
			}
		})
	}
}
