package signer

import (
	"context"
	"testing"

	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
)

// conflictLog is a Rekor v1 entries API that already holds the entry: it
// answers a create with 409 and the entry's location (no Rekor v1 runs in
// the bed: this is a stand-in for its two answers).
type conflictLog struct {
	entries.ClientService
	uuid     string
	fetched  []string
	conflict bool
}

func (l *conflictLog) CreateLogEntry(*entries.CreateLogEntryParams, ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	if !l.conflict {
		return &entries.CreateLogEntryCreated{ETag: "new", Payload: models.LogEntry{"new": {}}}, nil
	}
	return nil, &entries.CreateLogEntryConflict{Location: strfmt.URI("/api/v1/log/entries/" + l.uuid), Payload: &models.Error{Message: "an equivalent entry already exists in the transparency log"}}
}

func (l *conflictLog) GetLogEntryByUUID(p *entries.GetLogEntryByUUIDParams, _ ...entries.ClientOption) (*entries.GetLogEntryByUUIDOK, error) {
	l.fetched = append(l.fetched, p.EntryUUID)
	if p.EntryUUID != l.uuid {
		return nil, entries.NewGetLogEntryByUUIDNotFound()
	}
	idx := int64(7)
	return &entries.GetLogEntryByUUIDOK{Payload: models.LogEntry{l.uuid: {LogIndex: &idx}}}, nil
}

func TestRekorV1Conflict(t *testing.T) {
	for _, tt := range []struct {
		name      string
		conflict  bool
		wantETag  string
		wantFetch int
	}{
		{"created", false, "new", 0},
		{"already held: fetched and used", true, "24296fb24b8ad77a", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &conflictLog{uuid: "24296fb24b8ad77a", conflict: tt.conflict}
			resp, err := rekorV1Entries{l}.CreateLogEntry(entries.NewCreateLogEntryParamsWithContext(context.Background()))
			if err != nil {
				t.Fatal(err)
			}
			if resp.ETag != tt.wantETag || resp.Payload[resp.ETag].LogIndex == nil && tt.conflict || len(l.fetched) != tt.wantFetch {
				t.Fatalf("got %+v, fetched %v", resp, l.fetched)
			}
		})
	}
}
