package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	rekor "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/redirect"
)

// serviceClient returns the HTTP client for Fulcio and the TSA, trusting
// the system roots plus Options.ServiceCACert.
func serviceClient(o *Options) (*http.Client, *tls.Config, error) {
	if o.httpClient != nil {
		return o.httpClient, nil, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var tlsConf *tls.Config
	if o.ServiceCACert != "" {
		pem, err := limits.ReadFile(o.ServiceCACert, 0)
		if err != nil {
			return nil, nil, badInput(fmt.Errorf("reading service CA certificates: %w", err))
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, badInput(fmt.Errorf("no PEM certificates in %s", o.ServiceCACert))
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		tr.TLSClientConfig = tlsConf
	}
	var rt http.RoundTripper = tr
	if o.UserAgent != "" {
		rt = userAgent{rt, o.UserAgent}
	}
	return &http.Client{Transport: rt, Timeout: o.HTTPTimeout, CheckRedirect: redirect.Check}, tlsConf, nil
}

type userAgent struct {
	next http.RoundTripper
	ua   string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// scrubURLError drops the *url.Error wrapper, whose message repeats the
// method and URL the caller reports anyway.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// timestampSignature gets an RFC 3161 timestamp over the raw signature
// bytes from the TSA, as cosign's tsa signer does.
func timestampSignature(ctx context.Context, hc *http.Client, tsaURL string, rawSig []byte) (*cbundle.RFC3161Timestamp, error) {
	nonce, err := cryptoutils.GenerateSerialNumber()
	if err != nil {
		return nil, err
	}
	tsq, err := timestamp.CreateRequest(bytes.NewReader(rawSig), &timestamp.RequestOptions{
		Hash: crypto.SHA256, Certificates: true, Nonce: nonce,
	})
	if err != nil {
		return nil, fmt.Errorf("creating timestamp request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tsaURL, bytes.NewReader(tsq))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, scrubURLError(err)
	}
	defer resp.Body.Close()
	body, err := limits.ReadAll(resp.Body, 1<<20, "the timestamp authority's answer")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("%s: %s", resp.Status, snippet(body))
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("parsing timestamp response: %w", err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, errors.New("timestamp response does not echo the request's nonce")
	}
	return cbundle.TimestampToRFC3161Timestamp(body), nil
}

// uploadToRekor records the signature in the transparency log and returns
// the bundle cosign attaches to the signature.
func uploadToRekor(ctx context.Context, o *Options, tlsConf *tls.Config, payload, rawSig, signerPEM []byte) (*cbundle.RekorBundle, error) {
	opts := []rekor.Option{}
	if o.UserAgent != "" {
		opts = append(opts, rekor.WithUserAgent(o.UserAgent))
	}
	if tlsConf != nil {
		opts = append(opts, rekor.WithTLSConfig(tlsConf))
	}
	rc, err := rekor.GetRekorClient(o.RekorURL, opts...)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	sum.Write(payload)
	entry, err := cosign.TLogUpload(ctx, rc, rawSig, sum, signerPEM)
	if err != nil {
		return nil, err
	}
	return cbundle.EntryToBundle(entry), nil
}

// ServiceClient returns the HTTP client the signer talks to Fulcio, Rekor
// and the TSA with: the system roots plus o.ServiceCACert, o.UserAgent,
// each request bounded by o.HTTPTimeout (0 is 30s), no redirect that
// downgrades to plain HTTP or leaves the origin. Other checks of the same
// services (hallmark doctor) use it to see what the signer will see.
func ServiceClient(o Options) (*http.Client, error) {
	d := o.withDefaults()
	c, _, err := serviceClient(&d)
	return c, err
}
