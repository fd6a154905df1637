package doctor

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// checkCTLog: when Fulcio's certificates must carry an SCT (keyless, and
// neither signing nor verification skips the SCT), the trusted root must
// hold a CT log key valid now; each such log should answer.
func checkCTLog(ctx context.Context, o Options, tr *trust) Check {
	c := newCheck(CheckCTLog, StageSign)
	switch {
	case !o.keyless():
		return c.skip("signing with a key: no certificate, no SCT")
	case o.Signer.InsecureSkipSCT && o.Verify.IgnoreSCT:
		return c.skip("SCTs are checked neither when signing nor when verifying ({signer.Options.InsecureSkipSCT}, {verifier.Trust.IgnoreSCT})")
	case tr.err != nil:
		return tr.unavailable(c)
	case tr.root == nil:
		return c.skip("not checked: no trusted root used; the CT log keys come from cosign's defaults")
	}
	logs := validLogs(tr.root.CTLogs(), time.Now())
	if len(logs) == 0 {
		return c.fail("the trusted root "+tr.name()+" lists no CT log key valid now: Fulcio's certificates' SCTs cannot be checked",
			"add the CT log's key to the trusted root (cosign trusted-root create --ctfe), or, for a Fulcio without a CT log, sign with {signer.Options.InsecureSkipSCT} and verify with {verifier.Trust.IgnoreSCT}")
	}
	var urls, down []string
	for _, l := range logs {
		urls = append(urls, l.BaseURL)
		if l.BaseURL == "" {
			continue
		}
		if err := ctLogAnswers(ctx, o, l.BaseURL); err != nil {
			down = append(down, err.Error())
		}
	}
	c.Facts["logs"] = strings.Join(urls, ",")
	if len(down) > 0 {
		return c.warn(fmt.Sprintf("the trusted root holds %d CT log key(s), but %s", len(logs), strings.Join(down, "; ")),
			"Fulcio submits certificates to the CT log: if Fulcio can reach it, signing works")
	}
	return c.ok(fmt.Sprintf("the trusted root holds the key of CT log %s", strings.Join(urls, ", ")))
}

// ctLogAnswers asks a CT log for its accepted roots, the endpoint of the
// submission API Fulcio uses (RFC 6962 logs and static-CT logs alike).
func ctLogAnswers(ctx context.Context, o Options, base string) error {
	base = strings.TrimRight(base, "/")
	if err := get(ctx, o, base+"/ct/v1/get-roots"); err != nil {
		return fmt.Errorf("CT log %s does not answer (%s)", base, err.Error())
	}
	return nil
}

// validLogs are the logs whose key is valid at now.
func validLogs(logs map[string]*root.TransparencyLog, now time.Time) []*root.TransparencyLog {
	var out []*root.TransparencyLog
	for _, l := range logs {
		if !l.ValidityPeriodStart.IsZero() && now.Before(l.ValidityPeriodStart) ||
			!l.ValidityPeriodEnd.IsZero() && now.After(l.ValidityPeriodEnd) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// checkRekor checks the log signatures are uploaded to: it answers, it is
// the API version configured, and its key is in the trusted root.
func checkRekor(ctx context.Context, o Options, tr *trust) Check {
	c := newCheck(CheckRekor, StageSign)
	svc := o.services()
	if svc.Rekor == "" {
		return c.skip("no upload to a transparency log ({signer.Options.SkipTlogUpload})")
	}
	base := strings.TrimRight(svc.Rekor, "/")
	c.Facts["url"], c.Facts["version"] = base, fmt.Sprint(svc.RekorVersion)
	hint := "check {signer.Options.RekorURL} and {signer.Options.RekorVersion} and the network; for a private CA pass {signer.Options.ServiceCACert}; without a log: {signer.Options.SkipTlogUpload} and verify with {verifier.Trust.IgnoreTlog}"
	var logID string
	if svc.RekorVersion >= 2 {
		if err := rekorV2Answers(ctx, o, base); err != nil {
			return c.fail("Rekor v2 at "+base+": "+err.Error(), hint)
		}
	} else {
		id, err := rekorV1Key(ctx, o, base)
		if err != nil {
			return c.fail("Rekor at "+base+": "+err.Error(), hint)
		}
		logID = id
		c.Facts["logID"] = id
	}
	switch {
	case tr.err != nil:
		return c.ok(fmt.Sprintf("Rekor v%d at %s answers (its key not checked: the trusted root is unavailable, see the trust check)", svc.RekorVersion, base))
	case tr.root == nil:
		return c.ok(fmt.Sprintf("Rekor v%d at %s answers (its key not checked: no trusted root used)", svc.RekorVersion, base))
	}
	keyHint := "add the log's public key to the trusted root (cosign trusted-root create --rekor url=...,public-key=...), or verify with {verifier.Trust.IgnoreTlog}"
	if logID != "" {
		if _, ok := tr.root.RekorLogs()[logID]; !ok {
			return c.fail(fmt.Sprintf("the key of Rekor at %s (log ID %s) is not in the trusted root %s: verification would reject its entries", base, logID, tr.name()), keyHint)
		}
		return c.ok(fmt.Sprintf("Rekor v1 at %s answers; its key is in the trusted root", base))
	}
	// Rekor v2's write API does not serve its key: the trusted root must
	// list a log at this URL, and the checkpoint the log serves with its
	// tiles must be signed by that log's key.
	for _, l := range validLogs(tr.root.RekorLogs(), time.Now()) {
		if sameURL(l.BaseURL, base) {
			c.Facts["logID"] = hex.EncodeToString(l.ID)
			return checkCheckpoint(ctx, o, c, base, l, tr)
		}
	}
	// Behind another URL (a proxy, a mirror): the log is the trusted one
	// whose key signs the checkpoint served there.
	if l := servingLog(ctx, o, base, tr.root); l != nil {
		c.Facts["logID"] = hex.EncodeToString(l.ID)
		c = checkCheckpoint(ctx, o, c, base, l, tr)
		if c.Status == StatusOK {
			c.Detail += fmt.Sprintf(" (the trusted root lists this log at %s)", l.BaseURL)
		}
		return c
	}
	return c.fail(fmt.Sprintf("the trusted root %s holds no key valid now for the Rekor at %s%s: verification would reject its entries",
		tr.name(), base, checkpointSigners(ctx, o, base, tr.root)), keyHint)
}

// rekorV2Answers probes Rekor v2's write API: its gRPC gateway answers
// GET /api/v2/checkpoint (with the checkpoint, or 501 on rekor-tiles,
// whose checkpoints are served with the tiles).
func rekorV2Answers(ctx context.Context, o Options, base string) error {
	err := get(ctx, o, base+"/api/v2/checkpoint")
	switch statusOf(err) {
	case 0:
		return err
	case http.StatusNotImplemented:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("no Rekor v2 API at this URL (%s): a Rekor v1 is --rekor-version 1", err.Error())
	}
	return err
}

// rekorV1Key fetches Rekor v1's public key and returns its log ID (hex
// SHA-256 of the DER key).
func rekorV1Key(ctx context.Context, o Options, base string) (string, error) {
	body, err := getBody(ctx, o, base+"/api/v1/log/publicKey")
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return "", fmt.Errorf("no Rekor v1 API at this URL (%s): a Rekor v2 is --rekor-version 2", err.Error())
		}
		return "", err
	}
	block, _ := pem.Decode(body)
	if block == nil {
		return "", fmt.Errorf("%s/api/v1/log/publicKey is not a PEM public key", base)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "", fmt.Errorf("%s/api/v1/log/publicKey: %w", base, err)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

// ErrInsecureFlags is behind a failed insecure-flags check: signing and
// verification disagree on the transparency log, a usage error.
var ErrInsecureFlags = errors.New("signing and verification disagree on the transparency log")

// checkInsecure checks that signing and verification agree on the
// transparency log and the SCT: no upload to a log verification ignores,
// no verification of a log entry that is never uploaded; no SCT checked
// at verification that signing let pass.
func checkInsecure(_ context.Context, o Options, _ *trust) Check {
	c := newCheck(CheckInsecure, StageSign)
	upload := o.services().Rekor != ""
	switch {
	case upload && o.Verify.IgnoreTlog:
		c = c.fail("signatures are uploaded to the transparency log, and verification ignores it ({verifier.Trust.IgnoreTlog})",
			"drop {verifier.Trust.IgnoreTlog} (the default path: upload and check), or, air-gapped, also set {signer.Options.SkipTlogUpload}")
		c.Err = ErrInsecureFlags
		return c
	case !upload && !o.Verify.IgnoreTlog:
		c = c.fail("nothing is uploaded to a transparency log ({signer.Options.SkipTlogUpload}), and verification requires a log entry",
			"drop {signer.Options.SkipTlogUpload} (the default path), or, air-gapped, verify with {verifier.Trust.IgnoreTlog} and a timestamp authority")
		c.Err = ErrInsecureFlags
		return c
	case o.keyless() && o.Signer.InsecureSkipSCT && !o.Verify.IgnoreSCT:
		return c.warn("signing accepts a certificate without an SCT ({signer.Options.InsecureSkipSCT}), verification requires one",
			"a Fulcio without a CT log needs both {signer.Options.InsecureSkipSCT} and {verifier.Trust.IgnoreSCT}; with a CT log, neither")
	case !upload:
		return c.ok("air-gapped: no transparency log, skipped at verification too")
	}
	return c.ok("signatures are uploaded to the transparency log and checked against it")
}
