package signer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/hallmark-dev/hallmark/layout"
)

// Signer signs image digests with one key: a loaded private key, or an
// ephemeral key with its Fulcio certificate (valid for about 10 minutes).
type Signer struct {
	o       Options
	key     *signingKey
	b       *bundler // with Options.Bundle
	hc      *http.Client
	tlsConf *tls.Config
	// conditional puts manifests written after an unchanged-check.
	conditional conditionalPusher
	// reuse are the options that share one puller and one pusher between
	// all Sign calls: a repository's auth handshake happens once.
	reuse []remote.Option
	// listing shares a puller without go-containerregistry's referrers
	// tag fallback, to tell the referrers API's listing from the index's.
	listing []remote.Option
	// emptyIn are the repositories known to hold the empty config blob.
	emptyIn sync.Map
	// servicesErr is why a keyed signer's default services (TUF) could
	// not be resolved: Sign returns it.
	servicesErr error
	// noReferrersAPI are the registry hosts found without the referrers
	// API: listings read their fallback index without asking the API.
	noReferrersAPI sync.Map
	// inFlight are the Sign calls in progress, which identical ones join;
	// attesting the Attest calls.
	inFlight  flights[*Result]
	attesting flights[*Attestation]
}

// New checks opts and prepares the signing key: it loads and decrypts the
// key, or checks the identity token and gets a Fulcio certificate.
func New(ctx context.Context, opts Options) (*Signer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	hc, tlsConf, err := serviceClient(&o)
	if err != nil {
		return nil, err
	}
	s := &Signer{o: o, hc: hc, tlsConf: tlsConf}
	if s.reuse, s.listing, err = reuse(o.RemoteOptions); err != nil {
		return nil, err
	}
	// Bad input (a key, its password, a token) fails before any request
	// for the services (TUF) or to them.
	if o.keyless() {
		_, _, err = checkToken(o.IdentityToken, o.TokenAudience, time.Now())
	} else {
		s.key, err = loadSigningKey(ctx, &s.o)
	}
	if err != nil {
		return nil, err
	}
	if err := s.o.resolveServices(ctx, time.Now()); err != nil {
		if o.keyless() || !o.defaultServices() {
			return nil, err
		}
		// A keyed signer needs the default services (TUF) only to sign:
		// its key stays checkable offline (hallmark doctor); Sign fails.
		s.servicesErr = err
		return s, nil
	}
	if o.keyless() {
		if s.key, err = ephemeralSigningKey(ctx, &s.o, hc); err != nil {
			return nil, err
		}
	}
	if o.Bundle {
		if s.b, err = s.newBundler(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Identity describes the signer for messages: the certificate's subject
// and OIDC issuer when there is a certificate, else "key".
func (s *Signer) Identity() string {
	if s.key.cert == nil {
		return "key " + s.o.Key
	}
	sans := cryptoutils.GetSubjectAlternateNames(s.key.cert)
	return fmt.Sprintf("%s (issuer %s)", strings.Join(sans, ", "), certIssuer(s.key.cert))
}

// CheckAnnotations checks annotations against the signing certificate
// with Options.CheckAnnotations, as Sign does first: a caller may check
// before it pushes what it will sign. It returns an *AnnotationError, or
// nil without a check or a certificate.
func (s *Signer) CheckAnnotations(annotations map[string]string) error {
	if s.o.CheckAnnotations == nil || s.key.cert == nil {
		return nil
	}
	if err := s.o.CheckAnnotations(s.key.cert, annotations); err != nil {
		return &AnnotationError{Err: err}
	}
	return nil
}

// Format is a signature's format (layout.Format).
type Format = layout.Format

// The signature formats (see package layout).
const (
	FormatSimpleSigning = layout.FormatSimpleSigning
	FormatBundle        = layout.FormatBundle
)

// Written says what happened for one signature a Sign call stores: one
// format in one layout.
type Written struct {
	// Format is FormatSimpleSigning or FormatBundle.
	Format Format
	// Layout is "legacy" (the simple-signing .sig tag) or "oci-1-1" (an
	// OCI 1.1 referrer: simple-signing in ModeOCI11, every bundle).
	Layout Mode
	// Location is where a verifier finds it: layout.LocationLegacy,
	// layout.LocationReferrers (the registry's referrers API lists it) or
	// layout.LocationFallback (the registry has no referrers API; the
	// FallbackTag index lists it).
	Location layout.Location
	// Ref is where the signature is stored: the signature tag, or the
	// referrer manifest (repo@sha256:...).
	Ref string
	// Layer is the digest of the signature layer: the signed payload
	// (simple signing) or the bundle (the referrer's one layer).
	Layer v1.Hash
	// Existing is true when an equivalent signature was already stored and
	// nothing was written.
	Existing bool
	// Attempts counts read-modify-write rounds (more than 1 when a
	// concurrent writer interfered).
	Attempts int
}

// Result reports a Sign call.
type Result struct {
	Digest name.Digest
	// Mode is the layout of simple-signing signatures; "" when none were
	// asked for (Options.Bundle without Options.Mode).
	Mode        Mode
	Annotations map[string]string
	// Payload is the signed simple-signing payload (none without Mode).
	Payload []byte
	// Signature is the base64 simple-signing signature written (or found).
	Signature string
	// Bundle is the Sigstore bundle (JSON) written or found, with
	// Options.Bundle.
	Bundle []byte
	// Layouts has one entry per signature stored: the simple-signing
	// layouts of Mode in order (legacy, then oci-1-1), then the bundle.
	Layouts []Written
}

// Added reports whether anything was written; false means every layout
// already held an equivalent signature.
func (r *Result) Added() bool {
	for _, w := range r.Layouts {
		if !w.Existing {
			return true
		}
	}
	return false
}

// Subject is an image manifest (or index) to sign: its digest and, when
// known — from the build that pushed it — its media type and size, so that
// signing need not read it (an OCI 1.1 referrer records its subject's
// descriptor). A zero MediaType means unknown.
type Subject struct {
	Digest    name.Digest
	MediaType types.MediaType
	Size      int64
}

// SignOption configures one Sign call.
type SignOption func(*signOptions)

// signOptions are the settings of one Sign call.
type signOptions struct {
	stored func()
}

// WhenStored has Sign call stored as soon as the signature is in place in
// every format and layout — written, or an equivalent one found — and
// before the settled read-backs that confirm a write was not dropped by a
// concurrent writer: a caller may read the signature from then on (a
// release verifies it meanwhile). Should a concurrent writer drop it, Sign
// writes it again before it returns. stored is called at most once, and
// not when signing fails before the signature is in place. Default: no
// callback.
func WhenStored(stored func()) SignOption {
	return func(o *signOptions) { o.stored = stored }
}

// Sign signs sub with the given annotations and stores the signature in
// each format and layout of the options: a bundle (its statement's subject
// annotations), simple-signing signatures (the payload's "optional" field)
// in the layouts of the mode. When sub's MediaType is empty, Sign reads the
// subject's descriptor from the registry where a layout needs it.
//
// Identical calls (the same digest and annotations) made while one is in
// progress wait for it and return its result, every signature marked
// Written.Existing: one signature is stored, not one per call.
//
// When it fails after it wrote, Sign returns with the error the Result so
// far: the signatures written, and the one whose write failed (it may be
// stored), for Withdraw.
func (s *Signer) Sign(ctx context.Context, sub Subject, annotations map[string]string, opts ...SignOption) (*Result, error) {
	if s.servicesErr != nil {
		return nil, s.servicesErr
	}
	var so signOptions
	for _, opt := range opts {
		opt(&so)
	}
	key := signKey(sub, annotations)
	for {
		fl, leader := s.inFlight.join(key)
		if leader {
			res, err := s.sign1(ctx, sub, annotations, so.stored)
			s.inFlight.land(key, fl, res, err)
			return res, err
		}
		res, again, err := fl.wait(ctx)
		if !again {
			if err != nil {
				return nil, err
			}
			if so.stored != nil {
				so.stored()
			}
			return asExisting(res), nil
		}
	}
}

// sign1 is one Sign call that no identical one is running alongside.
func (s *Signer) sign1(ctx context.Context, sub Subject, annotations map[string]string, stored func()) (*Result, error) {
	digest := sub.Digest
	if err := s.CheckAnnotations(annotations); err != nil {
		return nil, fmt.Errorf("signing %s: %w", digest, err)
	}
	mode := s.o.Mode
	res := &Result{Digest: digest, Mode: mode, Annotations: maps.Clone(annotations)}
	ropts := slices.Concat(s.o.RemoteOptions, []remote.Option{remote.WithContext(ctx)}, s.reuse)
	c := &signCall{s: s, digest: digest, annotations: res.Annotations, ropts: ropts, stored: stored,
		listOpts: slices.Concat(ropts, s.listing)}
	if mode != "" {
		payload, err := Payload(digest, annotations)
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", digest, err)
		}
		res.Payload, c.payload = payload, payload
		c.match = s.matcher(digest, annotations)
	}
	switch {
	case s.o.Bundle:
		c.last = slot{FormatBundle, ModeOCI11}
	case mode.OCI11():
		c.last = slot{FormatSimpleSigning, ModeOCI11}
	default:
		c.last = slot{FormatSimpleSigning, ModeLegacy}
	}
	if sub.MediaType != "" {
		h, err := v1.NewHash(digest.DigestStr())
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", digest, err)
		}
		c.subject = &v1.Descriptor{MediaType: sub.MediaType, Digest: h, Size: sub.Size}
	}
	c.startUploads(mode != "", s.o.Bundle)
	defer c.uploadsDone()
	for _, l := range []struct {
		on    bool
		what  string
		write func(context.Context) (*Written, error)
	}{
		{mode.Legacy(), "legacy layout", c.writeLegacy},
		{mode.OCI11(), "oci-1-1 layout", c.writeReferrer},
		{s.o.Bundle, "bundle", c.writeBundle},
	} {
		if !l.on {
			continue
		}
		w, err := l.write(ctx)
		if w != nil && (err == nil || w.Ref != "" && !w.Existing) {
			res.Layouts = append(res.Layouts, *w)
		}
		if c.sig != nil {
			res.Signature, _ = c.sig.Base64Signature()
		}
		res.Bundle = c.bundle
		if err != nil {
			// What was written so far, and the signature whose write
			// failed (it may be stored): Withdraw takes them back.
			return res, fmt.Errorf("signing %s (%s): %w", digest, l.what, err)
		}
	}
	c.notifyStored() // when the last layout already held one
	return res, nil
}

// Payload returns the simple-signing payload cosign v2 signs for digest,
// with annotations in its "optional" field.
func Payload(digest name.Digest, annotations map[string]string) ([]byte, error) {
	var opt map[string]any
	if len(annotations) > 0 {
		opt = make(map[string]any, len(annotations))
		for k, v := range annotations {
			opt[k] = v
		}
	}
	return (&sigpayload.Cosign{Image: digest, Annotations: opt}).MarshalJSON()
}

// signCall is the state of one Sign call: the simple-signing signature is
// made at most once, on first need, or taken over from an equivalent one
// found in another layout; so is the bundle.
type signCall struct {
	s           *Signer
	digest      name.Digest
	annotations map[string]string
	payload     []byte
	match       *matcher // simple-signing signatures
	ropts       []remote.Option
	listOpts    []remote.Option // ropts with a puller without ggcr's tag fallback
	sig         oci.Signature
	bundle      []byte
	subject     *v1.Descriptor // the image's descriptor, when known

	payloadUp, emptyUp *upload // the payload blob, the empty config

	// legacyTwin is whether the signature tag's last read-back found a
	// signature of the same payload before ours (see convergeLegacy).
	legacyTwin bool
	// otherReferrers are the descriptors the last referrers listing read
	// had besides ours, by digest (see convergeReferrer).
	otherReferrers []v1.Descriptor

	// stored is called once the last layout's write is made (see
	// WhenStored), then set to nil.
	stored func()
	last   slot
}

// slot is one format in one layout.
type slot struct {
	format Format
	layout Mode
}

// isLast reports whether w is the last signature Sign stores.
func (c *signCall) isLast(w *Written) bool { return (slot{w.Format, w.Layout}) == c.last }

// notifyStored calls stored, once.
func (c *signCall) notifyStored() {
	if f := c.stored; f != nil {
		c.stored = nil
		f()
	}
}

// signature returns the signature to write, making it on first use.
func (c *signCall) signature(ctx context.Context) (oci.Signature, error) {
	if c.sig != nil {
		return c.sig, nil
	}
	sig, err := c.s.sign(ctx, c.payload)
	if err != nil {
		return nil, err
	}
	c.sig = sig
	return sig, nil
}

// found records an equivalent signature already stored, so another layout
// that lacks it gets a copy instead of a new signature.
func (c *signCall) found(sig oci.Signature) {
	if c.sig == nil {
		if cp, err := static.Copy(sig); err == nil {
			c.sig = cp
		}
	}
}

// sign signs payload and adds what the options ask for: the certificate
// chain, an RFC 3161 timestamp, a Rekor bundle.
func (s *Signer) sign(ctx context.Context, payload []byte) (oci.Signature, error) {
	raw, err := s.key.sv.SignMessage(bytes.NewReader(payload), sigopts.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing payload: %w", err)
	}
	var opts []static.Option
	if s.key.cert != nil {
		opts = append(opts, static.WithCertChain(s.key.certPEM, s.key.chainPEM))
	}
	if s.o.TimestampServerURL != "" {
		ts, err := timestampSignature(ctx, s.hc, s.o.TimestampServerURL, raw)
		if err != nil {
			return nil, &ServiceError{Service: "timestamp authority", URL: s.o.TimestampServerURL, Err: err}
		}
		s.o.Logger.DebugContext(ctx, "got RFC 3161 timestamp", "tsa", s.o.TimestampServerURL)
		opts = append(opts, static.WithRFC3161Timestamp(ts))
	}
	if !s.o.SkipTlogUpload {
		signer, err := s.signerPEM()
		if err != nil {
			return nil, err
		}
		b, err := uploadToRekor(ctx, &s.o, s.tlsConf, payload, raw, signer)
		if err != nil {
			return nil, &ServiceError{Service: "rekor", URL: s.o.RekorURL, Err: err}
		}
		s.o.Logger.DebugContext(ctx, "recorded in transparency log", "rekor", s.o.RekorURL, "index", b.Payload.LogIndex)
		opts = append(opts, static.WithBundle(b))
	}
	return static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), opts...)
}

func (s *Signer) signerPEM() ([]byte, error) {
	if s.key.cert != nil {
		return s.key.certPEM, nil
	}
	pub, err := s.key.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// reuse returns options for a shared puller and pusher, so that a Signer
// pings each registry and exchanges tokens for a repository once, not per
// request or per Sign call. The pusher leaves the referrers fallback index
// to indexFallback. Each call still passes its own context.
// The listing options replace the puller with one without the fallback.
func reuse(ropts []remote.Option) (shared, listing []remote.Option, err error) {
	pl, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, nil, err
	}
	noFallback := append(slices.Clone(ropts), remote.WithReferrersTagFallback(false))
	ps, err := remote.NewPusher(noFallback...)
	if err != nil {
		return nil, nil, err
	}
	lp, err := remote.NewPuller(noFallback...)
	if err != nil {
		return nil, nil, err
	}
	return []remote.Option{remote.Reuse(pl), remote.Reuse(ps)}, []remote.Option{remote.Reuse(lp)}, nil
}
