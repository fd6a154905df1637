package cli

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
)

func TestPrintAnnotations(t *testing.T) {
	gitlab := ci.Detect(func(k string) string {
		return map[string]string{
			"GITLAB_CI": "true", "CI_COMMIT_SHA": "abc", "CI_COMMIT_SHORT_SHA": "ab",
			"CI_PROJECT_URL": "https://gitlab.example.com/g/p?a&b", "GITLAB_USER_NAME": "J D",
		}[k]
	})
	tests := []struct {
		name string
		cmd  annotationsCmd
		want map[string]string
	}{
		{"CI defaults", annotationsCmd{}, map[string]string{
			"com.gitlab.ci.commit.sha": "abc", "com.gitlab.ci.user.name": "J D", "tag": "ab",
			"org.opencontainers.image.revision": "abc", "org.opencontainers.image.source": "https://gitlab.example.com/g/p?a&b",
		}},
		{"explicit wins", annotationsCmd{tag: signTagGroup{tag: "v1"}, annotations: annotationsGroup{explicit: []string{"tag=x", "k=v=w"}}},
			map[string]string{
				"com.gitlab.ci.commit.sha": "abc", "com.gitlab.ci.user.name": "J D", "tag": "x", "k": "v=w",
				"org.opencontainers.image.revision": "abc", "org.opencontainers.image.source": "https://gitlab.example.com/g/p?a&b",
			}},
		{"no CI annotations", annotationsCmd{annotations: annotationsGroup{noCI: true, explicit: []string{"a=b"}}},
			map[string]string{"a": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.cmd.print(&out, gitlab); err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("stdout is not a JSON object: %v\n%s", err, out.String())
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if strings.Contains(out.String(), `\u0026`) {
				t.Errorf("HTML-escaped output: %s", out.String())
			}
		})
	}
}

func TestAnnotationsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"annotations", "-a", "novalue"},
		{"annotations", "-a", "=v"},
		{"annotations", "stray"},
		{"annotations", "--no-such-flag"},
	} {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			app := newApp(&stdout, &stderr)
			err := app.Run(append([]string{"hallmark"}, args...))
			var msg bytes.Buffer
			if code := report(&msg, err, nil); code != exitUsage {
				t.Errorf("exit code %d, want %d (%s)", code, exitUsage, msg.String())
			}
			if strings.Count(msg.String(), "\n") != 1 || !strings.HasPrefix(msg.String(), "error: ") {
				t.Errorf("want one error line, got %q", msg.String())
			}
			if strings.Contains(stdout.String(), "{") {
				t.Errorf("JSON printed on a usage error: %q", stdout.String())
			}
		})
	}
}
