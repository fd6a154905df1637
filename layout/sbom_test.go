package layout_test

import (
	"slices"
	"testing"

	"github.com/hallmark-dev/hallmark/layout"
)

func TestParseSPDX(t *testing.T) {
	tests := []struct {
		name      string
		predicate string
		want      []layout.SPDXPackage
		version   string
		wantErr   bool
	}{
		{"syft's shape", `{"spdxVersion":"SPDX-2.3","name":"sbom","packages":[{"name":"busybox","versionInfo":"1.35.0","SPDXID":"x"},{"name":"probe","versionInfo":"1.0"}]}`,
			[]layout.SPDXPackage{{Name: "busybox", Version: "1.35.0"}, {Name: "probe", Version: "1.0"}}, "SPDX-2.3", false},
		{"no packages", `{"spdxVersion":"SPDX-2.2","name":"empty"}`, nil, "SPDX-2.2", false},
		{"not SPDX (provenance)", `{"buildDefinition":{},"runDetails":{}}`, nil, "", true},
		{"CycloneDX", `{"bomFormat":"CycloneDX","specVersion":"1.5"}`, nil, "", true},
		{"not JSON", `spdx`, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := layout.ParseSPDX([]byte(tt.predicate))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSPDX() error = %v, want error %v", err, tt.wantErr)
			}
			if got.Version != tt.version || !slices.Equal(got.Packages, tt.want) {
				t.Errorf("ParseSPDX() = %+v, want version %s packages %v", got, tt.version, tt.want)
			}
		})
	}
}
