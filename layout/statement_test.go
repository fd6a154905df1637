package layout_test

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/layout"
)

func TestSignStatementRoundTrip(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: hex}
	for _, ann := range []map[string]string{nil, {"tag": "v1", "com.gitlab.ci.commit.sha": "abc"}} {
		b, err := layout.SignStatement{Digest: h, Annotations: ann}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// The shape cosign v3 writes.
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if raw["_type"] != "https://in-toto.io/Statement/v1" || raw["predicateType"] != layout.PredicateTypeSign {
			t.Fatalf("statement %s: wrong type or predicate type", b)
		}
		if p, ok := raw["predicate"].(map[string]any); !ok || len(p) != 0 {
			t.Fatalf("statement %s: predicate is not empty", b)
		}
		pt, got, err := layout.ParseStatement(b)
		if err != nil {
			t.Fatal(err)
		}
		if pt != layout.PredicateTypeSign || got.Digest != h || !maps.Equal(got.Annotations, ann) {
			t.Fatalf("parsed %q %+v, want %+v", pt, got, ann)
		}
	}
}

func TestParseStatementRefuses(t *testing.T) {
	for name, payload := range map[string]string{
		"not json":          `{`,
		"simple signing":    `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:` + hex + `"},"type":"cosign container image signature"}}`,
		"two subjects":      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + hex + `"}},{"digest":{"sha256":"` + hex + `"}}],"predicateType":"x","predicate":{}}`,
		"no sha256":         `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha512":"00"}}],"predicateType":"x","predicate":{}}`,
		"bad digest":        `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"xyz"}}],"predicateType":"x","predicate":{}}`,
		"number annotation": `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + hex + `"},"annotations":{"tag":1}}],"predicateType":"x","predicate":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := layout.ParseStatement([]byte(payload)); !errors.Is(err, layout.ErrStatement) {
				t.Fatalf("ParseStatement = %v, want ErrStatement", err)
			}
		})
	}
}
