package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
)

// TestSBOMGroup: --sbom asks for BuildKit's default generator unless
// --sbom-generator names one; a generator without --sbom is a usage error.
func TestSBOMGroup(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // the request's SBOMGenerator
		says string // the usage error, "" for none
	}{
		{"no SBOM", nil, nil, "", ""},
		{"default generator", []string{"--sbom"}, nil, defaultSBOMGenerator, ""},
		{"own generator", []string{"--sbom", "--sbom-generator", "reg.example/scanner:1"}, nil, "reg.example/scanner:1", ""},
		{"from the environment", nil, map[string]string{"HALLMARK_SBOM": "true", "HALLMARK_SBOM_GENERATOR": "reg.example/s:2"}, "reg.example/s:2", ""},
		{"generator without --sbom", []string{"--sbom-generator", "reg.example/scanner:1"}, nil, "", "--sbom-generator reg.example/scanner:1 without --sbom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var g sbomGroup
			var req builder.Request
			app := &cli.App{Flags: g.flags(), Writer: io.Discard, ErrWriter: io.Discard,
				Action: func(*cli.Context) error { return g.apply(&req) }}
			err := app.Run(append([]string{"hallmark"}, tt.args...))
			if tt.says != "" {
				if err == nil || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("err = %v, want it to say %q", err, tt.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.SBOMGenerator != tt.want {
				t.Errorf("SBOMGenerator = %q, want %q", req.SBOMGenerator, tt.want)
			}
		})
	}
}
