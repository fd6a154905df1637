package doctor

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/digitorus/timestamp"
)

// tsaProbe is what the TSA check asks a timestamp for.
var tsaProbe = []byte("hallmark doctor timestamp probe")

// checkTSA asks the timestamp authority for an RFC 3161 timestamp, as
// signing will, at whatever path its URL names; with a trusted root the
// answer must verify against one of the root's timestamp authorities.
func checkTSA(ctx context.Context, o Options, tr *trust) Check {
	c := newCheck(CheckTSA, StageSign)
	svc := o.services()
	if svc.TSA == "" {
		if svc.Rekor != "" && svc.RekorVersion >= 2 {
			return c.fail("Rekor v2 at "+svc.Rekor+" needs a timestamp authority: its entries carry no signing time",
				"set {signer.Options.TimestampServerURL}")
		}
		return c.skip("no timestamp authority configured ({signer.Options.TimestampServerURL})")
	}
	c.Facts["url"] = svc.TSA
	hint := "give {signer.Options.TimestampServerURL} as the TSA's RFC 3161 endpoint (sigstore's timestamp-authority: BASE/api/v1/timestamp); for a private CA pass {signer.Options.ServiceCACert}"
	ts, raw, err := requestTimestamp(ctx, o, svc.TSA)
	if err != nil {
		return c.fail("timestamp authority at "+svc.TSA+": "+err.Error(), hint)
	}
	c.Facts["time"] = ts.Time.UTC().Format("2006-01-02T15:04:05Z")
	switch {
	case tr.err != nil:
		return c.ok("timestamp authority at " + svc.TSA + " issues RFC 3161 timestamps (its certificate not checked: the trusted root is unavailable, see the trust check)")
	case tr.root == nil:
		return c.ok("timestamp authority at " + svc.TSA + " issues RFC 3161 timestamps (its certificate not checked: no trusted root used)")
	}
	tsas := tr.root.TimestampingAuthorities()
	if len(tsas) == 0 {
		return c.fail("the trusted root "+tr.name()+" lists no timestamp authority: verification cannot use the timestamps of "+svc.TSA,
			"add the TSA's certificate chain to the trusted root (cosign trusted-root create --timestamp-certificate-chain)")
	}
	var errs []string
	for _, a := range tsas {
		if _, err := a.Verify(raw, tsaProbe); err == nil {
			return c.ok("timestamp authority at " + svc.TSA + " issues RFC 3161 timestamps that verify against the trusted root")
		} else {
			errs = append(errs, err.Error())
		}
	}
	return c.fail(fmt.Sprintf("the timestamps of %s do not verify against the trusted root %s (%d timestamp authorities): %s", svc.TSA, tr.name(), len(tsas), strings.Join(errs, "; ")),
		"the trusted root must hold this TSA's certificate chain (cosign trusted-root create --timestamp-certificate-chain)")
}

// requestTimestamp asks u for a timestamp over tsaProbe and returns it
// parsed and raw (the DER TimeStampResp a bundle stores).
func requestTimestamp(ctx context.Context, o Options, u string) (*timestamp.Timestamp, []byte, error) {
	req, err := timestamp.CreateRequest(strings.NewReader(string(tsaProbe)), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		return nil, nil, fmt.Errorf("making a timestamp request: %w", err)
	}
	raw, err := send(ctx, o, "POST", u, "application/timestamp-query", req, 200)
	if err != nil {
		return nil, nil, fmt.Errorf("not an RFC 3161 timestamp endpoint: %w", err)
	}
	ts, err := timestamp.ParseResponse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("POST %s: the answer is not an RFC 3161 timestamp: %w", u, err)
	}
	want := sha256.Sum256(tsaProbe)
	if string(ts.HashedMessage) != string(want[:]) {
		return nil, nil, fmt.Errorf("POST %s: the timestamp is over another message", u)
	}
	return ts, raw, nil
}
