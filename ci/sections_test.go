package ci

import (
	"bytes"
	"regexp"
	"testing"
)

func TestSection(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want *regexp.Regexp
	}{
		{"gitlab", map[string]string{"GITLAB_CI": "true"},
			regexp.MustCompile(`^\x1b\[0Ksection_start:\d+:hallmark_build\[collapsed=false\]\r\x1b\[0KBuild and push\ninside\n\x1b\[0Ksection_end:\d+:hallmark_build\r\x1b\[0K\n$`)},
		{"github", map[string]string{"GITHUB_ACTIONS": "true"}, regexp.MustCompile(`^::group::Build and push\ninside\n::endgroup::\n$`)},
		{"generic", nil, regexp.MustCompile(`^inside\n$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			env := Detect(func(k string) string { return tt.env[k] })
			end := env.Section(&buf, "hallmark build", "Build and push")
			buf.WriteString("inside\n")
			end()
			if !tt.want.MatchString(buf.String()) {
				t.Errorf("got %q, want match of %s", buf.String(), tt.want)
			}
		})
	}
}
