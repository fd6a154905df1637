package signer

// Bundle signatures, cosign v3's format: the statement layout.SignStatement
// in a DSSE envelope, in a Sigstore bundle v0.3 made by sigstore-go's
// sign.Bundle with the signer's key, its certificate (keyless: the one
// Fulcio issued in New, for every digest) or the public-key hint, an RFC
// 3161 timestamp and a Rekor entry.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekor "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
)

// bundler holds what every bundle signature of a Signer shares.
type bundler struct {
	kp   *keypair
	opts sign.BundleOptions // without Context
}

// newBundler prepares bundle signing: the keypair, the certificate and
// the Rekor client (the TSA client is made per call, see signBundle).
func (s *Signer) newBundler() (*bundler, error) {
	kp, err := newKeypair(s.key.sv)
	if err != nil {
		return nil, err
	}
	b := &bundler{kp: kp}
	switch {
	case s.key.cert != nil && len(s.key.chain) > 0 && !s.o.keyless():
		b.opts.CertificateChainProvider = chainProvider(s.key)
	case s.key.cert != nil:
		b.opts.CertificateProvider = certProvider(s.key.cert.Raw)
	}
	if !s.o.SkipTlogUpload {
		tl, err := s.newTlog()
		if err != nil {
			return nil, &ServiceError{Service: "rekor", URL: s.o.RekorURL, Err: err}
		}
		b.opts.TransparencyLogs = []sign.Transparency{tl}
	}
	return b, nil
}

// newTlog returns the Rekor client of the configured API version.
func (s *Signer) newTlog() (sign.Transparency, error) {
	ro := &sign.RekorOptions{BaseURL: s.o.RekorURL, Timeout: s.o.HTTPTimeout, Retries: 1, Version: s.o.RekorVersion}
	if s.o.RekorVersion == 2 {
		c, err := newRekorV2Client(s.o.RekorURL, s.hc, s.o.trustedRoot)
		if err != nil {
			return nil, err
		}
		ro.ClientV2 = c
	} else {
		opts := []rekor.Option{rekor.WithRetryCount(1)}
		if s.o.UserAgent != "" {
			opts = append(opts, rekor.WithUserAgent(s.o.UserAgent))
		}
		if s.tlsConf != nil {
			opts = append(opts, rekor.WithTLSConfig(s.tlsConf))
		}
		c, err := rekor.GetRekorClient(s.o.RekorURL, opts...)
		if err != nil {
			return nil, err
		}
		ro.Client = rekorV1Entries{c.Entries}
	}
	return tlog{sign.NewRekor(ro)}, nil
}

// tlog marks the transparency log's errors as such.
type tlog struct{ sign.Transparency }

type tlogError struct{ error }

func (e tlogError) Unwrap() error { return e.error }

func (t tlog) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	if err := t.Transparency.GetTransparencyLogEntry(ctx, keyOrCertPEM, b); err != nil {
		return tlogError{err}
	}
	return nil
}

// certProvider is the certificate the Signer holds (DER).
type certProvider []byte

func (c certProvider) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

// chainProvider is a keyed signer's certificate and chain, without the
// self-signed root (which a bundle must not carry).
func chainProvider(c *signingKey) sign.CertificateChainProvider {
	certs := [][]byte{c.cert.Raw}
	for _, ic := range c.chain {
		if !selfSigned(ic) {
			certs = append(certs, ic.Raw)
		}
	}
	return chain(certs)
}

type chain [][]byte

func (c chain) GetCertificateChain(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([][]byte, error) {
	return c, nil
}

func selfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// signBundle signs digest's statement with annotations and returns the
// bundle's JSON, as cosign v3 marshals it.
func (s *Signer) signBundle(ctx context.Context, digest name.Digest, annotations map[string]string) ([]byte, error) {
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return nil, err
	}
	stmt, err := layout.SignStatement{Digest: h, Annotations: annotations}.Marshal()
	if err != nil {
		return nil, err
	}
	return s.signStatement(ctx, digest, stmt)
}

// signStatement signs an in-toto statement about digest (DSSE) and
// returns the bundle's JSON, as cosign v3 marshals it.
func (s *Signer) signStatement(ctx context.Context, digest name.Digest, stmt []byte) ([]byte, error) {
	opts := s.b.opts
	opts.Context = ctx
	if s.o.TimestampServerURL != "" {
		// sigstore-go's TSA client sends its request without a context:
		// its transport adds this call's.
		opts.TimestampAuthorities = []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL: s.o.TimestampServerURL, Timeout: s.o.HTTPTimeout, Retries: 1,
			Transport: withContext{ctx, s.hc.Transport},
		})}
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: stmt, PayloadType: layout.InTotoPayloadType}, s.b.kp, opts)
	var te tlogError
	var se signError
	switch {
	case errors.As(err, &te):
		return nil, &ServiceError{Service: "rekor", URL: s.o.RekorURL, Err: te.error}
	case errors.As(err, &se):
		return nil, fmt.Errorf("signing the statement: %w", se.error)
	case err != nil && s.o.TimestampServerURL != "":
		// The keypair and the certificate cannot fail otherwise: the
		// timestamp authority did.
		return nil, &ServiceError{Service: "timestamp authority", URL: s.o.TimestampServerURL, Err: err}
	case err != nil:
		return nil, fmt.Errorf("making the bundle: %w", err)
	}
	s.o.Logger.DebugContext(ctx, "signed bundle", "digest", digest.DigestStr(),
		"timestamps", len(pb.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()),
		"tlogEntries", len(pb.GetVerificationMaterial().GetTlogEntries()))
	return protojson.Marshal(pb)
}

// withContext sends requests with ctx: a transport made for one call.
type withContext struct {
	ctx  context.Context
	next http.RoundTripper
}

func (w withContext) RoundTrip(r *http.Request) (*http.Response, error) {
	next := w.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r.WithContext(w.ctx))
}
