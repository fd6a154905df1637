package signer

// Rekor v2 writes, idempotent against a lost answer. rekor-tiles
// (internal/server/service.go, v2.3) deduplicates entries: a request whose
// entry the log already holds is answered 409 AlreadyExists with the index
// in the X-Log-Index header and no entry. So when an answer is lost (the
// log appended the entry, the client never heard), the resent request gets
// that 409, and the entry with its inclusion proof is rebuilt from the
// log's tiles (the tlog-tiles read API at the same URL, as public-good's
// log2025-1 serves it): the checkpoint, verified with a Rekor key of the
// trusted root, the inclusion proof built from the tiles, the entry's body
// from its entry bundle — and all of it checked against this signature
// before it goes into the bundle.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	pbs "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	tilesnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	tilesverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/internal/limits"
)

// rekorV2Attempts bounds the requests one entry is sent in.
const rekorV2Attempts = 3

// rekorV2Client adds hashedrekord entries to a Rekor v2 (sigstore-go's
// sign.RekorV2Client).
type rekorV2Client struct {
	base *url.URL
	hc   *http.Client
	// trust gets the trusted root whose Rekor logs the checkpoint of a
	// recovered entry must be signed by; read only then.
	trust func(context.Context) (*root.TrustedRoot, error)
}

func newRekorV2Client(baseURL string, hc *http.Client, trust func(context.Context) (*root.TrustedRoot, error)) (*rekorV2Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("parsing Rekor URL %q: want scheme://host", baseURL)
	}
	return &rekorV2Client{base: u, hc: hc, trust: trust}, nil
}

// errDuplicate is Rekor v2's answer to an entry it already holds.
type errDuplicate struct{ index uint64 }

func (e errDuplicate) Error() string {
	return fmt.Sprintf("the log already holds the entry, at index %d", e.index)
}

// retryableError is a failure after which the request may have been
// applied or not: no answer, or a 5xx/429 one.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

// Add sends the entry, resending it when no answer came; an answer that
// the entry exists (an earlier send was applied) recovers that entry.
func (c *rekorV2Client) Add(ctx context.Context, entry any) (*pbs.TransparencyLogEntry, error) {
	hr, ok := entry.(*rekortilespb.HashedRekordRequestV002)
	if !ok {
		return nil, fmt.Errorf("unsupported Rekor v2 entry %T", entry)
	}
	body, err := protojson.Marshal(&rekortilespb.CreateEntryRequest{
		Spec: &rekortilespb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: hr}})
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		tle, err := c.post(ctx, body)
		var dup errDuplicate
		var re retryableError
		switch {
		case err == nil:
			return tle, nil
		case errors.As(err, &dup):
			// An earlier send of this very signature was applied (or,
			// on a first send, a replay of it): its entry is ours.
			return c.recoverEntry(ctx, hr, dup.index)
		case !errors.As(err, &re) || attempt == rekorV2Attempts || ctx.Err() != nil:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// post sends one request.
func (c *rekorV2Client) post(ctx context.Context, body []byte) (*pbs.TransparencyLogEntry, error) {
	u := c.base.JoinPath("/api/v2/log/entries")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, retryableError{scrubURLError(err)}
	}
	defer resp.Body.Close()
	rb, err := limits.ReadAll(resp.Body, 10<<20, "Rekor's answer")
	if err != nil {
		return nil, retryableError{err}
	}
	switch {
	case resp.StatusCode == http.StatusCreated:
		var tle pbs.TransparencyLogEntry
		if err := protojson.Unmarshal(rb, &tle); err != nil {
			return nil, fmt.Errorf("parsing Rekor's entry: %w", err)
		}
		return &tle, nil
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("X-Log-Index") != "":
		i, err := strconv.ParseUint(resp.Header.Get("X-Log-Index"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("409 with a bad X-Log-Index %q", resp.Header.Get("X-Log-Index"))
		}
		return nil, errDuplicate{i}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, retryableError{fmt.Errorf("%s: %s", resp.Status, snippet(rb))}
	}
	return nil, fmt.Errorf("%s: %s", resp.Status, snippet(rb))
}

// recoverEntry rebuilds the entry at index from the log's tiles and checks
// that it is hr's, included in a checkpoint a trusted Rekor key signed.
func (c *rekorV2Client) recoverEntry(ctx context.Context, hr *rekortilespb.HashedRekordRequestV002, index uint64) (*pbs.TransparencyLogEntry, error) {
	fail := func(err error) error {
		return fmt.Errorf("recovering the entry the log holds at index %d: %w", index, err)
	}
	tr, err := c.trust(ctx)
	if err != nil {
		return nil, fail(fmt.Errorf("no Rekor key to check it with: %w", err))
	}
	f, err := tclient.NewHTTPFetcher(c.base, c.hc)
	if err != nil {
		return nil, fail(err)
	}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fail(fmt.Errorf("reading the checkpoint: %w", err))
	}
	cp, keyID, nv, err := checkpoint(ctx, tr.RekorLogs(), raw)
	if err != nil {
		return nil, fail(err)
	}
	if index >= cp.Size {
		return nil, fail(fmt.Errorf("the checkpoint covers %d entries only", cp.Size))
	}
	pb, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		return nil, fail(err)
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fail(fmt.Errorf("building the inclusion proof: %w", err))
	}
	eb, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, index/256, cp.Size)
	if err != nil {
		return nil, fail(err)
	}
	if int(index%256) >= len(eb.Entries) {
		return nil, fail(errors.New("the entry bundle does not hold it"))
	}
	tle := &pbs.TransparencyLogEntry{
		LogIndex:    int64(index), //nolint:gosec // below the checkpoint's size
		LogId:       &protocommon.LogId{KeyId: keyID},
		KindVersion: &pbs.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		InclusionProof: &pbs.InclusionProof{
			LogIndex: int64(index), RootHash: cp.Hash, TreeSize: int64(cp.Size), //nolint:gosec // idem
			Hashes: hashes, Checkpoint: &pbs.Checkpoint{Envelope: string(raw)},
		},
		CanonicalizedBody: eb.Entries[index%256],
	}
	want, err := hashedrekord.ToEntryHash(hr.GetDigest(), hr.GetSignature())
	if err != nil {
		return nil, fail(err)
	}
	if err := tilesverify.VerifyLogEntryWithHash(tle, nv, want); err != nil {
		return nil, fail(fmt.Errorf("it is not this signature's: %w", err))
	}
	return tle, nil
}

// checkpoint opens raw with the trusted Rekor key that signed it, and
// returns it with that log's ID and note verifier. A Rekor v2
// checkpoint's origin is the host of the log's base URL.
func checkpoint(ctx context.Context, logs map[string]*root.TransparencyLog, raw []byte) (*log.Checkpoint, []byte, note.Verifier, error) {
	for _, l := range logs {
		u, err := url.Parse(l.BaseURL)
		if err != nil || u.Hostname() == "" {
			continue
		}
		sv, err := signature.LoadVerifier(l.PublicKey, l.SignatureHashFunc)
		if err != nil {
			continue
		}
		nv, err := tilesnote.NewNoteVerifier(u.Hostname(), sv)
		if err != nil {
			continue
		}
		cp, _, _, err := tclient.FetchCheckpoint(ctx, func(context.Context) ([]byte, error) { return raw, nil }, nv, u.Hostname())
		if err == nil {
			return cp, l.ID, nv, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("the checkpoint is signed by no Rekor key of the trusted root: %s", strings.SplitN(string(raw), "\n", 2)[0])
}
