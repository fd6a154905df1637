package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// PredicateTypeSPDX is the predicate type of an SPDX document: the one
// BuildKit gives its SBOM attestations and `cosign verify-attestation
// --type spdxjson` looks for.
const PredicateTypeSPDX = "https://spdx.dev/Document"

// SPDXPackage is a package an SPDX document lists.
type SPDXPackage struct {
	Name    string `json:"name"`
	Version string `json:"versionInfo"`
}

// SPDXFacts are what hallmark reads of an SPDX document.
type SPDXFacts struct {
	// Version is spdxVersion, e.g. SPDX-2.3.
	Version string
	// Name is the document's name.
	Name string
	// Packages are the packages it lists.
	Packages []SPDXPackage
}

// ParseSPDX reads the facts of an SPDX JSON document (an SBOM predicate).
// A document without an SPDX version is not one.
func ParseSPDX(predicate []byte) (SPDXFacts, error) {
	var d struct {
		SPDXVersion string        `json:"spdxVersion"`
		Name        string        `json:"name"`
		Packages    []SPDXPackage `json:"packages"`
	}
	if err := json.Unmarshal(predicate, &d); err != nil {
		return SPDXFacts{}, fmt.Errorf("reading the SPDX document: %w", err)
	}
	if !strings.HasPrefix(d.SPDXVersion, "SPDX-") {
		return SPDXFacts{}, fmt.Errorf("reading the SPDX document: %w", errors.New(`no "spdxVersion": "SPDX-..."`))
	}
	return SPDXFacts{Version: d.SPDXVersion, Name: d.Name, Packages: d.Packages}, nil
}
