package layout

import (
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	intoto "github.com/in-toto/attestation/go/v1"
)

// Statement is an in-toto Statement v1 about one image manifest with any
// predicate: what an attestation bundle signs (cosign attest). Unlike
// SignStatement's, the predicate is kept byte for byte, so that a
// producer's fields (BuildKit's buildkit_*) survive signing.
type Statement struct {
	// Digest is the subject: the manifest the statement is about.
	Digest v1.Hash
	// PredicateType says what Predicate is, e.g.
	// PredicateTypeSLSAProvenance1.
	PredicateType string
	// Predicate is the predicate's JSON, as the producer wrote it.
	Predicate json.RawMessage
}

// statementJSON is an in-toto Statement v1 with a raw predicate.
type statementJSON struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

type subjectJSON struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// Marshal returns the statement's JSON, the DSSE payload of an attestation
// bundle; the predicate is copied as it is (it must be a JSON object).
func (s Statement) Marshal() ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(s.Predicate, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: the predicate is not a JSON object", ErrStatement)
	}
	if s.PredicateType == "" {
		return nil, fmt.Errorf("%w: no predicate type", ErrStatement)
	}
	// encoding/json compacts a RawMessage: the predicate is appended as it
	// is, as the last field.
	head, err := json.Marshal(statementJSON{
		Type:          intoto.StatementTypeUri,
		Subject:       []subjectJSON{{Digest: map[string]string{s.Digest.Algorithm: s.Digest.Hex}}},
		PredicateType: s.PredicateType,
	})
	if err != nil {
		return nil, err
	}
	out := append(head[:len(head)-1:len(head)-1], `,"predicate":`...)
	out = append(out, s.Predicate...)
	return append(out, '}'), nil
}

// ParseAttestation parses an in-toto Statement v1 with one sha256 subject
// and returns it with its predicate byte for byte as in payload.
func ParseAttestation(payload []byte) (Statement, error) {
	var st statementJSON
	if err := json.Unmarshal(payload, &st); err != nil {
		return Statement{}, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	switch {
	case st.Type != intoto.StatementTypeUri:
		return Statement{}, fmt.Errorf("%w: statement type %q", ErrStatement, st.Type)
	case len(st.Subject) != 1:
		return Statement{}, fmt.Errorf("%w: %d subjects, want 1", ErrStatement, len(st.Subject))
	case len(st.Predicate) == 0:
		return Statement{}, fmt.Errorf("%w: %w", ErrStatement, errors.New("no predicate"))
	}
	hex, ok := st.Subject[0].Digest["sha256"]
	if !ok {
		return Statement{}, fmt.Errorf("%w: subject digest has no sha256", ErrStatement)
	}
	h, err := v1.NewHash("sha256:" + hex)
	if err != nil {
		return Statement{}, fmt.Errorf("%w: subject digest: %w", ErrStatement, err)
	}
	return Statement{Digest: h, PredicateType: st.PredicateType, Predicate: st.Predicate}, nil
}
