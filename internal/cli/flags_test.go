package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/signer"
)

// parseGroups parses args as a command made of groups would.
func parseGroups(t *testing.T, groups []flagGroup, args ...string) {
	t.Helper()
	app := &cli.App{
		Name:                      "hallmark",
		Writer:                    io.Discard,
		ErrWriter:                 io.Discard,
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{{
			Name: "cmd", Flags: groupFlags(groups...),
			Action: func(*cli.Context) error { return nil },
		}},
	}
	if err := app.Run(append([]string{"hallmark", "cmd"}, args...)); err != nil {
		t.Fatal(err)
	}
}

// TestListFlags: an environment variable of a repeatable flag holds one
// value per line (tags, platforms and hosts also comma-separated), as
// README.md documents; a value given as a flag is one entry even with a
// newline in it; flags replace the variable's values.
func TestListFlags(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		got  func(*buildGroup, *registryGroup, *policyGroup) []string
		want []string
	}{
		{"HALLMARK_TAG one per line", map[string]string{"HALLMARK_TAG": "r/a:1\nr/a:2\n"}, nil,
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string { return b.tags }, []string{"r/a:1", "r/a:2"}},
		{"HALLMARK_TAG lines and commas", map[string]string{"HALLMARK_TAG": "r/a:1,r/a:2\nr/a:3"}, nil,
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string { return b.tags }, []string{"r/a:1", "r/a:2", "r/a:3"}},
		{"--tag replaces HALLMARK_TAG", map[string]string{"HALLMARK_TAG": "r/a:1\nr/a:2"}, []string{"-t", "r/b:1,r/b:2", "-t", "r/b:3"},
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string { return b.tags }, []string{"r/b:1", "r/b:2", "r/b:3"}},
		{"HALLMARK_PLATFORM one per line", map[string]string{"HALLMARK_PLATFORM": "linux/amd64\r\nlinux/arm64"}, nil,
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string { return b.platforms }, []string{"linux/amd64", "linux/arm64"}},
		{"HALLMARK_INSECURE_REGISTRY one per line", map[string]string{"HALLMARK_INSECURE_REGISTRY": "localhost:5000\n127.0.0.1:5001"}, nil,
			func(_ *buildGroup, r *registryGroup, _ *policyGroup) []string { return r.insecure }, []string{"localhost:5000", "127.0.0.1:5001"}},
		{"HALLMARK_BUILD_ARG one per line, commas kept", map[string]string{"HALLMARK_BUILD_ARG": "A=1,2\nB=3"}, nil,
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string { return b.buildArgs }, []string{"A=1,2", "B=3"}},
		{"--build-arg with a newline is one entry", nil, []string{"--build-arg", "A=line1\nline2", "--label", "l=a\nb"},
			func(b *buildGroup, _ *registryGroup, _ *policyGroup) []string {
				return append(b.buildArgs, b.labels...)
			}, []string{"A=line1\nline2", "l=a\nb"}},
		{"HALLMARK_VERIFY_ANNOTATIONS one per line", map[string]string{"HALLMARK_VERIFY_ANNOTATIONS": "tag=v1\nteam=core,ops"}, nil,
			func(_ *buildGroup, _ *registryGroup, p *policyGroup) []string { return p.annotations }, []string{"tag=v1", "team=core,ops"}},
		{"-a with a newline is one entry", nil, []string{"-a", "k=a\nb", "-a", "x=y"},
			func(_ *buildGroup, _ *registryGroup, p *policyGroup) []string { return p.annotations }, []string{"k=a\nb", "x=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var b buildGroup
			var r registryGroup
			var p policyGroup
			parseGroups(t, []flagGroup{&b, &r, &p}, tt.args...)
			if got := tt.got(&b, &r, &p); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAnnotationsReadsSignTag: hallmark annotations previews what sign
// records: both read the tag from HALLMARK_SIGN_TAG, not from HALLMARK_TAG
// (the push tags of build and release).
func TestAnnotationsReadsSignTag(t *testing.T) {
	noCI(t)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HALLMARK_SIGN_TAG": "v9"}, "v9"},
		{map[string]string{"HALLMARK_TAG": "r/a:v8"}, ""},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		code, out, errOut := run(t, "annotations", "--no-ci-annotations")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got["tag"] != tc.want {
			t.Errorf("env %v: tag %q, want %q", tc.env, got["tag"], tc.want)
		}
		for k := range tc.env {
			t.Setenv(k, "")
		}
	}
}

// TestVerifyAnnotationsFromEnv: several annotations required through
// HALLMARK_VERIFY_ANNOTATIONS are all checked.
func TestVerifyAnnotationsFromEnv(t *testing.T) {
	var p policyGroup
	var id identityGroup
	t.Setenv("HALLMARK_VERIFY_ANNOTATIONS", "tag=v1\nteam=core")
	parseGroups(t, []flagGroup{&p, &id})
	policy, err := id.policy(&p)
	if err != nil {
		t.Fatal(err)
	}
	if len(policy.Annotations) != 2 || policy.Annotations["tag"] != "v1" || policy.Annotations["team"] != "core" {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(policy.Annotations)
		t.Errorf("annotations %s, want tag=v1 and team=core", b.String())
	}
}

// TestStorageFormats: the format flags and variables reach the signer
// options; the bundle is the default, as in cosign v3.
func TestStorageFormats(t *testing.T) {
	for _, tc := range []struct {
		env    map[string]string
		args   []string
		bundle bool
		mode   signer.Mode
		err    string
	}{
		{nil, nil, true, "", ""},
		{nil, []string{"--new-bundle-format=false"}, false, signer.ModeLegacy, ""},
		{nil, []string{"--new-bundle-format=false", "--registry-referrers-mode", "oci-1-1"}, false, signer.ModeOCI11, ""},
		{nil, []string{"--both-formats"}, true, signer.ModeLegacy, ""},
		{nil, []string{"--both-formats", "--registry-referrers-mode", "both"}, true, signer.ModeBoth, ""},
		{map[string]string{"HALLMARK_NEW_BUNDLE_FORMAT": "false", "HALLMARK_REGISTRY_REFERRERS_MODE": "oci-1-1"}, nil, false, signer.ModeOCI11, ""},
		{map[string]string{"HALLMARK_BOTH_FORMATS": "true"}, nil, true, signer.ModeLegacy, ""},
		{nil, []string{"--both-formats", "--new-bundle-format=false"}, false, "", "drop --new-bundle-format=false"},
		{nil, []string{"--registry-referrers-mode", "oci11"}, false, "", "--registry-referrers-mode"},
	} {
		for _, k := range []string{"HALLMARK_NEW_BUNDLE_FORMAT", "HALLMARK_BOTH_FORMATS", "HALLMARK_REGISTRY_REFERRERS_MODE"} {
			t.Setenv(k, tc.env[k]) // restored after the test
			if _, ok := tc.env[k]; !ok {
				os.Unsetenv(k)
			}
		}
		var g storageGroup
		parseGroups(t, []flagGroup{&g}, tc.args...)
		var o signer.Options
		err := g.applySigner(t.Context(), &o)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("env %v, args %q: err %v, want it to say %q", tc.env, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || o.Bundle != tc.bundle || o.Mode != tc.mode {
			t.Errorf("env %v, args %q: bundle %v, mode %q, err %v; want %v, %q", tc.env, tc.args, o.Bundle, o.Mode, err, tc.bundle, tc.mode)
		}
	}
}
