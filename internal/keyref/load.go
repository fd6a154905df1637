package keyref

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/redirect"
)

// MaxKey is the largest key (or certificate) a reference may name.
const MaxKey = limits.MaxFile

// urlTimeout bounds fetching a key from an http(s) URL.
const urlTimeout = 30 * time.Second

// keyClient fetches keys from URLs: at most redirect.Max redirects, never
// from https to http, no credentials to another origin.
var keyClient = &http.Client{Timeout: urlTimeout, CheckRedirect: redirect.Check}

// load reads what a file path, env://VAR or http(s) URL names, as cosign's
// blob.LoadFileOrURL does, but at most MaxKey bytes, and a URL with
// keyClient's redirect policy and timeout.
func load(ctx context.Context, ref string) ([]byte, error) {
	scheme, rest, ok := strings.Cut(ref, "://")
	if !ok {
		return limits.ReadFile(filepath.Clean(ref), MaxKey)
	}
	switch scheme {
	case "env":
		v, found := os.LookupEnv(rest)
		if !found {
			return nil, fmt.Errorf("env var $%s not found", rest)
		}
		if len(v) > MaxKey {
			return nil, &limits.TooLargeError{What: "$" + rest, Limit: MaxKey}
		}
		return []byte(v), nil
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
		if err != nil {
			return nil, err
		}
		resp, err := keyClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", ref, resp.Status)
		}
		return limits.ReadAll(resp.Body, MaxKey, ref)
	}
	return nil, fmt.Errorf("unrecognized scheme %s://", scheme)
}
