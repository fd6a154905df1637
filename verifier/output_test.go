package verifier_test

import (
	"encoding/json"
	"testing"
)

// cosignJSON is Result.JSON's output without hallmark's own key, which
// must be in every entry: what `cosign verify` prints.
func cosignJSON(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var entries []map[string]any
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, e := range entries {
		if _, ok := e["hallmark"]; !ok {
			t.Errorf("an entry lacks the hallmark key: %s", out)
		}
		delete(e, "hallmark")
	}
	return entries
}
