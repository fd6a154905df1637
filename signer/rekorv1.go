package signer

// Rekor v1 writes of bundle signatures, idempotent against a lost answer.
// Rekor v1 answers a request for an entry it already holds with 409
// Conflict and the entry's location: when an answer is lost and the Rekor
// client resends, that is what the resend gets (cosign#4851). sigstore-go
// fails there; cosign's TLogUpload, which the simple-signing path uses,
// fetches the entry. This wrapper does the same for sigstore-go's client:
// the entry is fetched and used, and the verifier checks it against the
// bundle (v1 entries carry the signature, key and digest, and a SET).

import (
	"errors"
	"fmt"
	"path"

	"github.com/sigstore/rekor/pkg/generated/client/entries"
)

// rekorV1Entries is Rekor v1's entries client, using the entry a 409
// Conflict points at.
type rekorV1Entries struct{ entries.ClientService }

func (c rekorV1Entries) CreateLogEntry(params *entries.CreateLogEntryParams, opts ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	resp, err := c.ClientService.CreateLogEntry(params, opts...)
	var conflict *entries.CreateLogEntryConflict
	if !errors.As(err, &conflict) {
		return resp, err
	}
	uuid := path.Base(conflict.Location.String())
	if uuid == "" || uuid == "." || uuid == "/" {
		return nil, fmt.Errorf("the log already holds the entry but does not say where: %w", err)
	}
	got, err := c.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(params.Context).WithEntryUUID(uuid))
	if err != nil {
		return nil, fmt.Errorf("fetching the entry the log already holds (%s): %w", uuid, err)
	}
	if len(got.Payload) != 1 {
		return nil, fmt.Errorf("fetching the entry the log already holds (%s): %d entries in the answer", uuid, len(got.Payload))
	}
	out := &entries.CreateLogEntryCreated{Payload: got.Payload, Location: conflict.Location}
	for k := range got.Payload {
		out.ETag = k
	}
	return out, nil
}
