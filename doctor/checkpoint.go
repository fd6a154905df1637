package doctor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	tilesnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// A Rekor v2 log serves its checkpoint with its tiles, at BASE/checkpoint
// (the tlog-tiles read API, as Sigstore's public-good logs serve it; the
// write API's GET /api/v2/checkpoint is not implemented by rekor-tiles).
// The checkpoint is a signed note whose origin is the host of the log's
// URL, as sigstore-go and the signer check it.

// checkCheckpoint fetches the checkpoint of the Rekor v2 at base and
// checks it is signed by l, the trusted root's key for that log. A log
// that serves no checkpoint is a warning: signing works, but a lost
// answer cannot be recovered from the tiles.
func checkCheckpoint(ctx context.Context, o Options, c Check, base string, l *root.TransparencyLog, tr *trust) Check {
	logID := hex.EncodeToString(l.ID)
	raw, err := getBody(ctx, o, base+"/checkpoint")
	if err != nil {
		what := err.Error()
		if statusOf(err) == http.StatusNotFound {
			what = "it serves no checkpoint at " + base + "/checkpoint"
		}
		return c.warn(fmt.Sprintf("Rekor v2 at %s answers and the trusted root holds a key for it (log ID %s), but %s: "+
			"its checkpoint's signature is not checked, and an entry whose answer is lost cannot be recovered from the log's tiles", base, logID, what),
			"serve the log's tiles (checkpoint, tile/, tile/entries/) at its URL, as Sigstore's public-good Rekor v2 logs do")
	}
	nv, err := noteVerifier(l)
	if err != nil {
		return c.fail(fmt.Sprintf("the trusted root %s's key for the Rekor at %s (log ID %s) is unusable: %s", tr.name(), base, logID, oneLine(err)),
			"give the trusted root the log's public key (cosign trusted-root create --rekor url=...,public-key=...)")
	}
	c.Facts["origin"] = nv.Name()
	cp, _, _, err := log.ParseCheckpoint(raw, nv.Name(), nv)
	if err != nil {
		return c.fail(fmt.Sprintf("the checkpoint of Rekor v2 at %s is not signed by the trusted root %s's key for it (log ID %s, note key %s+%08x): it is %s",
			base, tr.name(), logID, nv.Name(), nv.KeyHash(), signers(raw, tr.root, l)),
			"the trusted root must hold this log's current key, and its URL's host must be the checkpoint's origin (rekor-server --hostname)")
	}
	c.Facts["checkpointSize"] = fmt.Sprint(cp.Size)
	return c.ok(fmt.Sprintf("Rekor v2 at %s answers; its checkpoint (origin %s, %d entries) is signed by the trusted root's key for it (log ID %s)",
		base, cp.Origin, cp.Size, logID))
}

// servingLog is the trusted root's log, valid now, whose key signs the
// checkpoint served at base (nil when none does, or none is served): the
// same log reached through another URL than the trusted root lists.
func servingLog(ctx context.Context, o Options, base string, tr *root.TrustedRoot) *root.TransparencyLog {
	raw, err := getBody(ctx, o, base+"/checkpoint")
	if err != nil {
		return nil
	}
	for _, l := range validLogs(tr.RekorLogs(), time.Now()) {
		nv, err := noteVerifier(l)
		if err != nil {
			continue
		}
		if _, err := note.Open(raw, note.VerifierList(nv)); err == nil {
			return l
		}
	}
	return nil
}

// checkpointSigners says, for a Rekor at base the trusted root lists no
// key for, who signed the checkpoint it serves ("" when it serves none).
func checkpointSigners(ctx context.Context, o Options, base string, tr *root.TrustedRoot) string {
	raw, err := getBody(ctx, o, base+"/checkpoint")
	if err != nil {
		return ""
	}
	return " (its checkpoint is " + signers(raw, tr, nil) + ")"
}

// signers says who signed a checkpoint: the note's keys and whether the
// trusted root holds one of them (for a log other than not).
func signers(raw []byte, tr *root.TrustedRoot, not *root.TransparencyLog) string {
	names, desc, ok := noteSigners(raw)
	if !ok {
		return desc
	}
	return desc + otherLog(raw, names, tr, not)
}

// noteVerifier is the note verifier of a Rekor v2 log's key, for the
// checkpoint origin its URL's host.
func noteVerifier(l *root.TransparencyLog) (note.Verifier, error) {
	u, err := url.Parse(l.BaseURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("base URL %q has no host", l.BaseURL)
	}
	return keyVerifier(l, u.Hostname())
}

// keyVerifier is the note verifier of l's key for origin.
func keyVerifier(l *root.TransparencyLog, origin string) (note.Verifier, error) {
	sv, err := signature.LoadVerifier(l.PublicKey, l.SignatureHashFunc)
	if err != nil {
		return nil, err
	}
	return tilesnote.NewNoteVerifier(origin, sv)
}

// noteSigners returns the names of the keys a note is signed with and
// describes them (name+keyhash, as note verifier keys are written), or
// says it is no signed note (false).
func noteSigners(raw []byte) ([]string, string, bool) {
	_, err := note.Open(raw, note.VerifierList())
	var ue *note.UnverifiedNoteError
	if !errors.As(err, &ue) {
		return nil, "not a signed note", false
	}
	var names, sigs []string
	for _, s := range ue.Note.UnverifiedSigs {
		names = append(names, s.Name)
		sigs = append(sigs, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return names, "signed by " + strings.Join(sigs, ", "), true
}

// otherLog names another valid Rekor log of the trusted root whose key
// signed the checkpoint under one of the names (a log listed under
// another URL), or says the trusted root holds none of the keys.
func otherLog(raw []byte, names []string, tr *root.TrustedRoot, not *root.TransparencyLog) string {
	for _, l := range validLogs(tr.RekorLogs(), time.Now()) {
		if l == not {
			continue
		}
		for _, name := range names {
			nv, err := keyVerifier(l, name)
			if err != nil {
				continue
			}
			if _, err := note.Open(raw, note.VerifierList(nv)); err == nil {
				return fmt.Sprintf(", the key the trusted root lists for %s (log ID %s)", l.BaseURL, hex.EncodeToString(l.ID))
			}
		}
	}
	return ", a key the trusted root does not hold"
}
