package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hallmark-dev/hallmark/signer"
)

// tsaPath is how a timestamp authority URL ends; its certificate chain is
// at tsaPath + "/certchain".
const tsaPath = "/api/v1/timestamp"

// checkFulcio fetches Fulcio's trust bundle; only keyless signing needs
// Fulcio.
func checkFulcio(ctx context.Context, o Options) Check {
	c := newCheck(CheckFulcio, StageSign)
	if o.Signer.Key != "" {
		return c.skip("signing with a key: Fulcio is not used")
	}
	base := strings.TrimRight(o.Signer.FulcioURL, "/")
	if base == "" {
		base = signer.DefaultFulcioURL
	}
	c.Facts["url"] = base
	if err := get(ctx, o, base+"/api/v2/trustBundle"); err != nil {
		return c.fail("Fulcio at "+base+": "+err.Error(),
			"check {signer.Options.FulcioURL} (the server's base URL) and the network; for a private CA pass {signer.Options.ServiceCACert}")
	}
	return c.ok("Fulcio at " + base + " serves its trust bundle")
}

// checkTSA fetches the timestamp authority's certificate chain, when one
// is configured.
func checkTSA(ctx context.Context, o Options) Check {
	c := newCheck(CheckTSA, StageSign)
	if o.Signer.TimestampServerURL == "" {
		return c.skip("no timestamp authority configured ({signer.Options.TimestampServerURL})")
	}
	tsa := strings.TrimRight(o.Signer.TimestampServerURL, "/")
	c.Facts["url"] = tsa
	if !strings.HasSuffix(tsa, tsaPath) {
		return c.fail("timestamp authority URL "+tsa+" does not end in "+tsaPath,
			"give {signer.Options.TimestampServerURL} as the timestamp endpoint, e.g. "+strings.TrimSuffix(tsa, "/api/v1")+tsaPath)
	}
	if err := get(ctx, o, tsa+"/certchain"); err != nil {
		return c.fail("timestamp authority at "+tsa+": "+err.Error(),
			"check {signer.Options.TimestampServerURL} and the network; for a private CA pass {signer.Options.ServiceCACert}")
	}
	return c.ok("timestamp authority at " + tsa + " serves its certificate chain")
}

// get fetches u and wants 200.
func get(ctx context.Context, o Options, u string) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
