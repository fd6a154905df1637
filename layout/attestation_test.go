package layout_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
)

// TestStatementKeepsPredicate: the predicate is signed as the producer
// wrote it — key order, spacing, unknown fields — and parses back.
func TestStatementKeepsPredicate(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	tests := []struct {
		name      string
		predicate string
		wantErr   bool
	}{
		{"BuildKit's fields in its order", `{"runDetails":{"builder":{"id":"https://ci/job/1"}},"buildDefinition":{"buildType":"https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"},"buildkit_metadata":{"vcs":{"revision":"0123"}}}`, false},
		{"spacing and numbers", "{ \"z\" : 1.50,\n \"a\": [] }", false},
		{"not an object", `[1,2]`, true},
		{"not JSON", `{`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := layout.Statement{Digest: h, PredicateType: layout.PredicateTypeSLSAProvenance1, Predicate: []byte(tt.predicate)}
			b, err := st.Marshal()
			if tt.wantErr {
				if !errors.Is(err, layout.ErrStatement) {
					t.Fatalf("Marshal: %v, want ErrStatement", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(`"predicate":`+tt.predicate)) {
				t.Errorf("the predicate is not byte for byte in %s", b)
			}
			var pb intoto.Statement // what sigstore-go and cosign parse
			if err := protojson.Unmarshal(b, &pb); err != nil {
				t.Fatalf("protojson rejects %s: %v", b, err)
			}
			got, err := layout.ParseAttestation(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != h || got.PredicateType != layout.PredicateTypeSLSAProvenance1 || string(got.Predicate) != tt.predicate {
				t.Errorf("parsed %+v", got)
			}
		})
	}
}
