package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/signer"
)

// MinTokenLifetime is how long an identity token must still be valid: a
// token expiring sooner fails, since the release exchanges it at Fulcio
// only after the build.
const MinTokenLifetime = time.Minute

// defaultTokenHint says how to provide signing material anywhere.
const defaultTokenHint = "keyless: set SIGSTORE_ID_TOKEN (GitLab CI: `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` in the job; " +
	"GitHub Actions: `permissions: id-token: write`), or pass {signer.Options.IdentityToken}; with a key: {signer.Options.Key}"

// checkSigning checks the key or the identity token a release would sign
// with; a key wins, as in release.
func checkSigning(ctx context.Context, o Options) Check {
	c := newCheck(CheckSigning, StageSign)
	hint := o.TokenHint
	if hint == "" {
		hint = defaultTokenHint
	}
	switch {
	case o.Signer.Key != "":
		return checkKey(ctx, o, c)
	case o.TokenErr != nil:
		c.Facts["mode"] = "keyless"
		c = c.fail("getting the OIDC identity token: "+oneLine(o.TokenErr), hint)
		c.Err = o.TokenErr
		return c
	case strings.TrimSpace(o.Signer.IdentityToken) == "":
		c = c.fail("no signing key and no OIDC identity token", hint)
		c.Err = &signer.TokenError{Reason: signer.TokenMissing}
		return c
	}
	c.Facts["mode"] = "keyless"
	c = checkToken(o, c, hint, time.Now())
	if c.Status == StatusFail && c.Err == nil {
		// The signer refuses the same token the same way: its error
		// classifies the failure as a release's would.
		c.Err = signer.CheckToken(o.Signer.IdentityToken, o.Signer.TokenAudience)
		if c.Err == nil {
			c.Err = &signer.TokenError{Reason: signer.TokenExpired, Detail: c.Detail}
		}
	}
	return c
}

// checkKey loads the key as the signer would, decrypting it.
func checkKey(ctx context.Context, o Options, c Check) Check {
	c.Facts["mode"], c.Facts["key"] = "key", o.Signer.Key
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	// Only the key: the services it signs with are the Sigstore checks'
	// (no upload here keeps New from resolving them, e.g. through TUF).
	s, err := signer.New(ctx, signer.Options{Key: o.Signer.Key, Password: o.Signer.Password, SkipTlogUpload: true})
	if err != nil {
		hint := "give {signer.Options.Key} a readable cosign.key file, env://VAR or a KMS URI"
		if errors.Is(err, signer.ErrKeyPassword) {
			hint = "set COSIGN_PASSWORD to the key's password"
		}
		c = c.fail(oneLine(err), hint)
		c.Err = err
		return c
	}
	if pk, err := s.PublicKey(); err == nil {
		c.Facts["keyType"] = fmt.Sprintf("%T", pk)
	}
	return c.ok("key " + o.Signer.Key + " loads")
}

// checkToken reads the token's claims and refuses it as the signer would:
// malformed, for another audience, expired or expiring within
// MinTokenLifetime, without a usable subject.
func checkToken(o Options, c Check, hint string, now time.Time) Check {
	aud := o.Signer.TokenAudience
	if aud == "" {
		aud = signer.DefaultTokenAudience
	}
	info, err := signer.InspectToken(o.Signer.IdentityToken)
	if err != nil {
		return c.fail(err.Error(), "the token must be a JWT (header.claims.signature) from the CI's OIDC provider; "+hint)
	}
	c.Facts["issuer"], c.Facts["identity"], c.Facts["identityClaim"] = info.Issuer, info.Identity, info.IdentityClaim
	c.Facts["audiences"], c.Facts["expires"] = strings.Join(info.Audiences, ","), info.Expiry.Format(time.RFC3339)
	left := info.Expiry.Sub(now)
	switch {
	case !slices.Contains(info.Audiences, aud):
		return c.fail(fmt.Sprintf("OIDC token is for audience %q, want %q", strings.Join(info.Audiences, ","), aud),
			"request the token with audience "+aud+" (GitLab: `aud: "+aud+"` under id_tokens)")
	case left <= 0:
		return c.fail(fmt.Sprintf("OIDC token from %s expired at %s (%s ago)", info.Issuer, info.Expiry.Format(time.RFC3339), (-left).Round(time.Second)),
			"use a fresh token: "+hint)
	case left < MinTokenLifetime:
		return c.fail(fmt.Sprintf("OIDC token from %s expires at %s, in %s: too soon to build and then sign", info.Issuer, info.Expiry.Format(time.RFC3339), left.Round(time.Second)),
			"use a fresh token: "+hint)
	}
	if err := signer.CheckToken(o.Signer.IdentityToken, aud); err != nil {
		return c.fail(err.Error(), hint)
	}
	identity := info.Identity
	if identity == "" {
		identity = "(not known from the claims)"
	}
	return c.ok(fmt.Sprintf("keyless: OIDC token from %s for %s, audience %s, expires in %s (%s)",
		info.Issuer, identity, aud, left.Round(time.Second), info.Expiry.Format(time.RFC3339)))
}
