package layout

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// SignStatement is what a bundle signature of an image says, as cosign v3
// writes it for `cosign sign`: an in-toto Statement v1 with one subject —
// the image's digest, with the signature's annotations — predicate type
// PredicateTypeSign and an empty predicate.
type SignStatement struct {
	// Digest is the signed manifest's or index's digest.
	Digest v1.Hash
	// Annotations are the subject's annotations (cosign's -a values).
	Annotations map[string]string
}

// ErrStatement reports a payload that is not a signing statement for an
// image.
var ErrStatement = errors.New("not a cosign signing statement")

// Marshal returns the statement as cosign v3 marshals it (protojson), the
// DSSE payload of a bundle signature.
func (s SignStatement) Marshal() ([]byte, error) {
	var ann *structpb.Struct
	if len(s.Annotations) > 0 {
		m := make(map[string]any, len(s.Annotations))
		for k, v := range s.Annotations {
			m[k] = v
		}
		var err error
		if ann, err = structpb.NewStruct(m); err != nil {
			return nil, fmt.Errorf("statement annotations: %w", err)
		}
	}
	st := &intoto.Statement{
		Type: intoto.StatementTypeUri,
		Subject: []*intoto.ResourceDescriptor{{
			Digest:      map[string]string{s.Digest.Algorithm: s.Digest.Hex},
			Annotations: ann,
		}},
		PredicateType: PredicateTypeSign,
		Predicate:     &structpb.Struct{},
	}
	return protojson.Marshal(st)
}

// ParseStatement parses an in-toto Statement v1 (a DSSE payload) and
// returns its predicate type and, for a statement with exactly one subject,
// that subject's digest and string annotations. It fails with ErrStatement
// for anything else: another statement type, no sha256 subject digest, or
// several subjects, or a non-string annotation value.
func ParseStatement(payload []byte) (predicateType string, s SignStatement, err error) {
	var st intoto.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(payload, &st); err != nil {
		return "", s, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if st.GetType() != intoto.StatementTypeUri {
		return "", s, fmt.Errorf("%w: statement type %q", ErrStatement, st.GetType())
	}
	if n := len(st.GetSubject()); n != 1 {
		return st.GetPredicateType(), s, fmt.Errorf("%w: %d subjects, want 1", ErrStatement, n)
	}
	sub := st.GetSubject()[0]
	hexDigest, ok := sub.GetDigest()["sha256"]
	if !ok {
		algs := slices.Sorted(maps.Keys(sub.GetDigest()))
		return st.GetPredicateType(), s, fmt.Errorf("%w: subject digest has no sha256 (has %s)", ErrStatement, strings.Join(algs, ", "))
	}
	if s.Digest, err = v1.NewHash("sha256:" + hexDigest); err != nil {
		return st.GetPredicateType(), s, fmt.Errorf("%w: subject digest: %w", ErrStatement, err)
	}
	if fields := sub.GetAnnotations().GetFields(); len(fields) > 0 {
		s.Annotations = make(map[string]string, len(fields))
		for k, v := range fields {
			str, ok := v.GetKind().(*structpb.Value_StringValue)
			if !ok {
				return st.GetPredicateType(), s, fmt.Errorf("%w: annotation %q is not a string", ErrStatement, k)
			}
			s.Annotations[k] = str.StringValue
		}
	}
	return st.GetPredicateType(), s, nil
}
