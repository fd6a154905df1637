package cli

import (
	"io"
	"slices"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"flags first unchanged", []string{"hallmark", "sign", "--key", "k", "img"}, []string{"hallmark", "sign", "--key", "k", "--", "img"}},
		{"flags after the argument", []string{"hallmark", "sign", "img", "--key", "k", "-a", "x=y"}, []string{"hallmark", "sign", "--key", "k", "-a", "x=y", "--", "img"}},
		{"bool flag does not eat the argument", []string{"hallmark", "verify", "--insecure-ignore-tlog", "img", "--key", "k"}, []string{"hallmark", "verify", "--insecure-ignore-tlog", "--key", "k", "--", "img"}},
		{"flag=value", []string{"hallmark", "build", ".", "--tag=r/x:1"}, []string{"hallmark", "build", "--tag=r/x:1", "--", "."}},
		{"global flag before the command", []string{"hallmark", "--debug", "build", ".", "-t", "r/x:1"}, []string{"hallmark", "--debug", "build", "-t", "r/x:1", "--", "."}},
		{"global flag after the command", []string{"hallmark", "release", "--debug", "--tag", "v1"}, []string{"hallmark", "--debug", "release", "--tag", "v1"}},
		{"help flag of the command stays", []string{"hallmark", "sign", "--help"}, []string{"hallmark", "sign", "--help"}},
		{"after --", []string{"hallmark", "sign", "--", "-odd", "--key"}, []string{"hallmark", "sign", "--", "-odd", "--key"}},
		{"no arguments", []string{"hallmark", "release", "--tag", "v1"}, []string{"hallmark", "release", "--tag", "v1"}},
		{"unknown command unchanged", []string{"hallmark", "nope", "x", "--y"}, []string{"hallmark", "nope", "x", "--y"}},
		{"help", []string{"hallmark", "--help"}, []string{"hallmark", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := interspersed(app, tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("interspersed(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
