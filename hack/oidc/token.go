package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// mintParams are the query parameters of /mint that are not claims; key=unknown
// signs with a key that is not in the JWKS.
var mintParams = map[string]bool{"ttl": true, "omit": true, "key": true}

// timeClaims are unix-seconds claims; a query value may be a number or a
// duration relative to now ("-1h", "10m").
var timeClaims = map[string]bool{"iat": true, "nbf": true, "exp": true}

// gitlabClaims returns the claim set of a GitLab CI ID token (GitLab's
// documented claims) for the issuer iss, overridden by the query q.
//
// sub, namespace_path, ref_path and ci_config_ref_uri follow project_path, ref
// and ref_type. Every claim may be set with a query parameter of the same
// name. ttl (a Go
// duration, default 10m) sets exp relative to now; omit (comma-separated
// claim names) drops claims; aud with commas becomes a list.
func gitlabClaims(iss string, q url.Values, now time.Time) (map[string]any, error) {
	get := func(name, def string) string {
		if v := q.Get(name); v != "" {
			return v
		}
		return def
	}
	host := strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://")
	projectPath := get("project_path", "group/app")
	ref := get("ref", "main")
	refType := get("ref_type", "branch")
	refPath := "refs/heads/" + ref
	if refType == "tag" {
		refPath = "refs/tags/" + ref
	}
	refPath = get("ref_path", refPath)
	sha := get("sha", "0123456789abcdef0123456789abcdef01234567")
	ttl := 10 * time.Minute
	if v := q.Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("parsing ttl: %w", err)
		}
		ttl = d
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return nil, fmt.Errorf("reading random jti: %w", err)
	}

	c := map[string]any{
		"iss":                iss,
		"sub":                fmt.Sprintf("project_path:%s:ref_type:%s:ref:%s", projectPath, refType, ref),
		"aud":                "sigstore",
		"jti":                hex.EncodeToString(jti),
		"iat":                now.Unix(),
		"nbf":                now.Add(-5 * time.Second).Unix(),
		"exp":                now.Add(ttl).Unix(),
		"namespace_id":       "1001",
		"namespace_path":     path.Dir(projectPath),
		"project_id":         "2002",
		"project_path":       projectPath,
		"user_id":            "3003",
		"user_login":         "hallmark-ci",
		"user_email":         "hallmark-ci@example.com",
		"pipeline_id":        "4004",
		"pipeline_source":    "push",
		"job_id":             "5005",
		"ref":                ref,
		"ref_type":           refType,
		"ref_path":           refPath,
		"ref_protected":      "true",
		"runner_id":          6006,
		"runner_environment": "gitlab-hosted",
		"sha":                sha,
		"ci_config_ref_uri":  fmt.Sprintf("%s/%s//.gitlab-ci.yml@%s", host, projectPath, refPath),
		"ci_config_sha":      sha,
		"project_visibility": "public",
	}
	for name, vals := range q {
		if mintParams[name] || len(vals) == 0 {
			continue
		}
		v := vals[0]
		switch {
		case timeClaims[name]:
			t, err := parseTime(v, now)
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", name, err)
			}
			c[name] = t
		case name == "runner_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parsing runner_id: %w", err)
			}
			c[name] = n
		case name == "aud" && strings.Contains(v, ","):
			c[name] = strings.Split(v, ",")
		default:
			c[name] = v
		}
	}
	for _, name := range strings.Split(q.Get("omit"), ",") {
		delete(c, strings.TrimSpace(name))
	}
	return c, nil
}

// parseTime reads unix seconds or a duration relative to now.
func parseTime(v string, now time.Time) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is neither unix seconds nor a duration", v)
	}
	return now.Add(d).Unix(), nil
}

// signJWT returns the compact RS256 JWS of claims.
func signJWT(k *signingKey, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": k.kid})
	if err != nil {
		return "", fmt.Errorf("encoding header: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return signingInput + "." + enc.EncodeToString(sig), nil
}
