package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hallmark-dev/hallmark/signer"
)

// The Sigstore check names, in report order.
const (
	CheckOIDC     = "oidc"
	CheckCTLog    = "ctlog"
	CheckRekor    = "rekor"
	CheckInsecure = "insecure-flags"
)

// tokenIssuer is the issuer claim of the release's token, "" when it has
// none or cannot be read (the signing check says why).
func tokenIssuer(o Options) string {
	if o.TokenErr != nil || strings.TrimSpace(o.Signer.IdentityToken) == "" {
		return ""
	}
	info, err := signer.InspectToken(o.Signer.IdentityToken)
	if err != nil {
		return ""
	}
	return info.Issuer
}

// checkOIDC fetches the token issuer's discovery document: its "issuer"
// must be the token's iss claim byte for byte, as Fulcio compares them.
// hallmark never talks to the issuer itself, Fulcio does: so an issuer
// this machine cannot reach is a warning, a mismatch a failure.
func checkOIDC(ctx context.Context, o Options, _ *trust) Check {
	c := newCheck(CheckOIDC, StageSign)
	if !o.keyless() {
		return c.skip("signing with a key: no OIDC issuer")
	}
	iss := tokenIssuer(o)
	if iss == "" {
		return c.skip("not checked: no readable identity token (see the signing check)")
	}
	c.Facts["issuer"] = iss
	u := strings.TrimRight(iss, "/") + "/.well-known/openid-configuration"
	body, err := getBody(ctx, o, u)
	if err != nil {
		return c.warn("not checked: "+err.Error(),
			"Fulcio fetches this document to verify the token; if Fulcio can reach the issuer, signing works. For a private CA pass {signer.Options.ServiceCACert}")
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Issuer == "" {
		return c.fail(u+" is not an OpenID discovery document (no \"issuer\")", "check the token's issuer URL")
	}
	if doc.Issuer != iss {
		return c.fail(fmt.Sprintf("the token's issuer %q is not the issuer %q its discovery document names%s", iss, doc.Issuer, slashNote(iss, doc.Issuer)),
			"the issuer must match exactly: fix the issuer URL the identity provider is configured with (GitLab: external_url)")
	}
	return c.ok("OIDC issuer " + iss + " publishes its discovery document")
}

// slashNote names a trailing-slash difference between two URLs.
func slashNote(a, b string) string {
	if a != b && strings.TrimRight(a, "/") == strings.TrimRight(b, "/") {
		return " (they differ by a trailing slash)"
	}
	return ""
}

// fulcioIssuer is one entry of Fulcio's /api/v2/configuration.
type fulcioIssuer struct {
	IssuerURL string `json:"issuerUrl"`
	Wildcard  string `json:"wildcardIssuerUrl"`
	Audience  string `json:"audience"`
}

// url is the issuer URL or pattern the entry accepts.
func (f fulcioIssuer) url() string {
	if f.IssuerURL != "" {
		return f.IssuerURL
	}
	return f.Wildcard
}

// matches reports whether Fulcio accepts tokens from iss under f: the URL
// exactly, or a meta-issuer pattern whose * matches one path segment.
func (f fulcioIssuer) matches(iss string) bool {
	u := f.url()
	if !strings.Contains(u, "*") {
		return u == iss
	}
	ok, err := path.Match(u, iss)
	return err == nil && ok
}

// checkFulcio fetches Fulcio's configuration and looks for the token's
// issuer in it; a Fulcio without the configuration endpoint (older than
// v1.1) is checked for reachability through its trust bundle.
func checkFulcio(ctx context.Context, o Options, _ *trust) Check {
	c := newCheck(CheckFulcio, StageSign)
	if !o.keyless() {
		return c.skip("signing with a key: Fulcio is not used")
	}
	base := strings.TrimRight(o.services().Fulcio, "/")
	c.Facts["url"] = base
	hint := "check {signer.Options.FulcioURL} (the server's base URL) and the network; for a private CA pass {signer.Options.ServiceCACert}"
	body, err := getBody(ctx, o, base+"/api/v2/configuration")
	if err != nil {
		if err2 := get(ctx, o, base+"/api/v2/trustBundle"); err2 != nil {
			return c.fail("Fulcio at "+base+": "+err2.Error(), hint)
		}
		return c.warn("Fulcio at "+base+" serves its trust bundle, not its configuration ("+err.Error()+"): its issuers not checked", "")
	}
	var conf struct {
		Issuers []fulcioIssuer `json:"issuers"`
	}
	if err := json.Unmarshal(body, &conf); err != nil {
		return c.fail("Fulcio at "+base+": /api/v2/configuration is not Fulcio's configuration: "+err.Error(), hint)
	}
	iss := tokenIssuer(o)
	if iss == "" {
		return c.ok(fmt.Sprintf("Fulcio at %s answers (%d issuers); the token's issuer not checked (no readable token)", base, len(conf.Issuers)))
	}
	c.Facts["issuer"] = iss
	var urls []string
	for _, f := range conf.Issuers {
		if f.matches(iss) {
			return c.ok(fmt.Sprintf("Fulcio at %s accepts tokens from %s", base, iss))
		}
		urls = append(urls, f.url())
	}
	note := ""
	for _, u := range urls {
		if n := slashNote(iss, u); n != "" {
			note = fmt.Sprintf(": it lists %q%s", u, n)
		}
	}
	if note == "" {
		slices.Sort(urls)
		note = fmt.Sprintf(" (it lists %s)", strings.Join(urls, ", "))
	}
	return c.fail(fmt.Sprintf("Fulcio at %s does not accept tokens from %s%s", base, iss, note),
		"add the issuer, exactly as the token's iss claim spells it, to Fulcio's OIDC issuers (fulcio-config.yaml), or use a token from a listed issuer")
}
