package signer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hallmark-dev/hallmark/internal/redirect"
)

// GitHubActionsToken exchanges a GitHub Actions job's OIDC request URL and
// bearer token ($ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, present when the
// job has `permissions: id-token: write`) for an ID token with audience
// aud ("" is "sigstore"), as cosign's github-actions provider does. The
// request token and the ID token never appear in errors.
func GitHubActionsToken(ctx context.Context, requestURL, requestToken, aud string) (string, error) {
	if aud == "" {
		aud = DefaultTokenAudience
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("getting a GitHub Actions ID token: bad request URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", aud)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("getting a GitHub Actions ID token: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	resp, err := (&http.Client{CheckRedirect: redirect.Check}).Do(req)
	if err != nil {
		return "", fmt.Errorf("getting a GitHub Actions ID token: %w", scrubURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("getting a GitHub Actions ID token: %s", resp.Status)
	}
	var payload struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&payload); err != nil || payload.Value == "" {
		return "", fmt.Errorf("getting a GitHub Actions ID token: no token in the response")
	}
	return payload.Value, nil
}
