package signer

import (
	"strings"
	"time"
)

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions ID tokens on
// github.com.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// TokenInfo is what an OIDC identity token says about the certificate
// Fulcio would issue for it, for diagnostics. It never holds the token.
type TokenInfo struct {
	// Issuer is the "iss" claim: the OIDC issuer the certificate names.
	Issuer string `json:"issuer"`
	// Subject is the "sub" claim.
	Subject string `json:"subject"`
	// Audiences are the "aud" claim's values.
	Audiences []string `json:"audiences"`
	// Expiry is the "exp" claim.
	Expiry time.Time `json:"expiry"`
	// Identity is the subject (SAN) Fulcio will put in the certificate,
	// where the claims determine it; "" when they do not (an unverified
	// email, no subject).
	Identity string `json:"identity,omitempty"`
	// IdentityClaim names the claim Identity comes from:
	// "ci_config_ref_uri" (GitLab CI), "job_workflow_ref" (GitHub Actions),
	// "email" or "sub".
	IdentityClaim string `json:"identityClaim,omitempty"`
}

// InspectToken reads the claims of a compact JWS identity token without
// checking its signature, expiry or audience (CheckToken does that). The
// error is a *TokenError (missing or malformed) and never contains the
// token.
func InspectToken(raw string) (TokenInfo, error) {
	c, err := parseClaims(raw)
	if err != nil {
		return TokenInfo{}, err
	}
	info := TokenInfo{
		Issuer: c.Issuer, Subject: c.Subject, Audiences: []string(c.Audience),
		Expiry: time.Unix(int64(*c.Expiry), 0).UTC(),
	}
	info.Identity, info.IdentityClaim = certificateIdentity(c, c.CIConfigRefURI, c.JobWorkflowRef)
	return info, nil
}

// certificateIdentity is the SAN Fulcio derives from the claims: GitLab's
// ci_config_ref_uri, GitHub's job_workflow_ref under the server URL, else
// the verified email or the subject.
func certificateIdentity(c *tokenClaims, configRefURI, workflowRef string) (identity, claim string) {
	if configRefURI != "" {
		return "https://" + configRefURI, "ci_config_ref_uri"
	}
	if workflowRef != "" {
		switch {
		case c.Issuer == GitHubActionsIssuer:
			return "https://github.com/" + workflowRef, "job_workflow_ref"
		case strings.HasSuffix(c.Issuer, "/_services/token"): // GitHub Enterprise Server
			return strings.TrimSuffix(c.Issuer, "_services/token") + workflowRef, "job_workflow_ref"
		}
	}
	subject, err := proofSubject(c)
	if err != nil {
		return "", ""
	}
	if subject == c.Email {
		return subject, "email"
	}
	return subject, "sub"
}
