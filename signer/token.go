package signer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// tokenClaims are the claims of an identity token hallmark looks at before
// sending it to Fulcio. The signature is Fulcio's to check.
type tokenClaims struct {
	Issuer        string    `json:"iss"`
	Subject       string    `json:"sub"`
	Email         string    `json:"email"`
	EmailVerified any       `json:"email_verified"`
	Audience      audiences `json:"aud"`
	Expiry        *float64  `json:"exp"`
	// CIConfigRefURI (GitLab) and JobWorkflowRef (GitHub Actions) determine
	// the certificate's identity for CI tokens.
	CIConfigRefURI string `json:"ci_config_ref_uri"`
	JobWorkflowRef string `json:"job_workflow_ref"`
}

// audiences accepts the "aud" claim as a string or a list of strings.
type audiences []string

func (a *audiences) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audiences{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor a list of strings")
	}
	*a = many
	return nil
}

// parseClaims decodes the claims of a compact JWS identity token without
// checking its signature, expiry or audience.
func parseClaims(raw string) (*tokenClaims, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, &TokenError{Reason: TokenMissing}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, &TokenError{Reason: TokenMalformed, Detail: fmt.Sprintf("want 3 dot-separated parts, got %d", len(parts))}
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !json.Valid(header) {
		return nil, &TokenError{Reason: TokenMalformed, Detail: "header is not base64url JSON"}
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, &TokenError{Reason: TokenMalformed, Detail: "claims are not base64url"}
	}
	var c tokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, &TokenError{Reason: TokenMalformed, Detail: "claims are not a JSON object"}
	}
	if c.Expiry == nil {
		return nil, &TokenError{Reason: TokenMalformed, Detail: "no exp claim"}
	}
	return &c, nil
}

// checkToken parses a compact JWS identity token and refuses it when it is
// malformed, expired at now, or not for audience. It returns the subject
// Fulcio expects a proof of possession for (the verified email when there
// is one, else "sub"), like sigstore's oauthflow does.
func checkToken(raw, audience string, now time.Time) (*tokenClaims, string, error) {
	c, err := parseClaims(raw)
	if err != nil {
		return nil, "", err
	}
	exp := time.Unix(int64(*c.Expiry), 0)
	if !now.Before(exp) {
		return nil, "", &TokenError{Reason: TokenExpired, Detail: "expired at " + exp.UTC().Format(time.RFC3339)}
	}
	if !slices.Contains(c.Audience, audience) {
		return nil, "", &TokenError{Reason: TokenWrongAudience,
			Detail: fmt.Sprintf("want %q, got %q", audience, strings.Join(c.Audience, ","))}
	}
	subject, err := proofSubject(c)
	if err != nil {
		return nil, "", err
	}
	return c, subject, nil
}

func proofSubject(c *tokenClaims) (string, error) {
	if c.Email != "" {
		if v, _ := c.EmailVerified.(bool); v || c.EmailVerified == "true" {
			return c.Email, nil
		}
		return "", &TokenError{Reason: TokenMalformed, Detail: "email claim not verified by the identity provider"}
	}
	if c.Subject == "" {
		return "", &TokenError{Reason: TokenNoSubject}
	}
	return c.Subject, nil
}
