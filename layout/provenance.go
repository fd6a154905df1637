package layout

import (
	"encoding/json"
	"fmt"
)

// ProvenanceFacts are what hallmark reads in BuildKit's SLSA v1
// provenance predicate: who built, from which source and revision, and
// what the build consumed.
type ProvenanceFacts struct {
	// BuilderID is runDetails.builder.id.
	BuilderID string
	// VCSSource and VCSRevision are BuildKit's
	// runDetails.metadata.buildkit_metadata.vcs source and revision.
	VCSSource, VCSRevision string
	// Materials are buildDefinition.resolvedDependencies' URIs.
	Materials []string
}

// ParseProvenance reads the facts of an SLSA v1 provenance predicate.
func ParseProvenance(predicate []byte) (ProvenanceFacts, error) {
	var p struct {
		BuildDefinition struct {
			ResolvedDependencies []struct {
				URI string `json:"uri"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				BuildKit struct {
					VCS map[string]string `json:"vcs"`
				} `json:"buildkit_metadata"`
			} `json:"metadata"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(predicate, &p); err != nil {
		return ProvenanceFacts{}, fmt.Errorf("reading the SLSA v1 provenance predicate: %w", err)
	}
	f := ProvenanceFacts{BuilderID: p.RunDetails.Builder.ID,
		VCSSource: p.RunDetails.Metadata.BuildKit.VCS["source"], VCSRevision: p.RunDetails.Metadata.BuildKit.VCS["revision"]}
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		f.Materials = append(f.Materials, d.URI)
	}
	return f, nil
}
