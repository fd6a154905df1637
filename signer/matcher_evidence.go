package signer

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

// A stored signature's evidence only counts when it is about that
// signature: a timestamp or transparency-log entry copied from another
// signature (by a mistake or an attacker) makes the signature fail
// verification, so it must not pass for "already signed".

// timestampCovers reports whether token is an RFC 3161 timestamp whose
// signature verifies (with the certificate it carries) and whose message
// imprint is sig's: what an RFC 3161 timestamp of a signature stamps. The
// timestamp authority's trust is the verifier's to check. token is the
// authority's whole response (a simple-signing signature's annotation, as
// cosign stores it) or the timestamp token alone (a bundle's).
func timestampCovers(token, sig []byte) bool {
	ts, err := timestamp.ParseResponse(token)
	if err != nil {
		ts, err = timestamp.Parse(token)
	}
	if err != nil || !ts.HashAlgorithm.Available() {
		return false
	}
	h := ts.HashAlgorithm.New()
	h.Write(sig)
	return string(h.Sum(nil)) == string(ts.HashedMessage)
}

// rekorEntry is the part of a Rekor v1 hashedrekord entry's body that
// names what was logged.
type rekorEntry struct {
	Kind string `json:"kind"`
	Spec struct {
		Signature struct {
			Content string `json:"content"`
		} `json:"signature"`
		Data struct {
			Hash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"hash"`
		} `json:"data"`
	} `json:"spec"`
}

// tlogCovers reports whether sig's Rekor bundle logged this signature
// over this payload (a hashedrekord entry, what the signer logs).
func tlogCovers(sig oci.Signature, payload []byte, b64sig string) bool {
	b, err := sig.Bundle()
	if err != nil || b == nil {
		return false
	}
	body, ok := b.Payload.Body.(string)
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return false
	}
	var e rekorEntry
	if err := json.Unmarshal(raw, &e); err != nil || e.Kind != "hashedrekord" {
		return false
	}
	sum := sha256.Sum256(payload)
	return e.Spec.Signature.Content == b64sig && e.Spec.Data.Hash.Algorithm == "sha256" &&
		e.Spec.Data.Hash.Value == hex.EncodeToString(sum[:])
}
