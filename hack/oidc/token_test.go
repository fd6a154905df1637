package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGitlabClaims(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name  string
		query string
		want  map[string]any
	}{
		{
			name:  "defaults",
			query: "",
			want: map[string]any{
				"iss":               "https://127.0.0.1:15010",
				"aud":               "sigstore",
				"sub":               "project_path:group/app:ref_type:branch:ref:main",
				"namespace_path":    "group",
				"ref_path":          "refs/heads/main",
				"ci_config_ref_uri": "127.0.0.1:15010/group/app//.gitlab-ci.yml@refs/heads/main",
				"runner_id":         6006,
				"exp":               now.Add(10 * time.Minute).Unix(),
			},
		},
		{
			name:  "tag of another project",
			query: "project_path=team/sub/svc&ref=v1.2.0&ref_type=tag",
			want: map[string]any{
				"sub":               "project_path:team/sub/svc:ref_type:tag:ref:v1.2.0",
				"namespace_path":    "team/sub",
				"ref_path":          "refs/tags/v1.2.0",
				"ci_config_ref_uri": "127.0.0.1:15010/team/sub/svc//.gitlab-ci.yml@refs/tags/v1.2.0",
			},
		},
		{
			name:  "expired, wrong audience",
			query: "exp=-1h&aud=other&ttl=5m",
			want:  map[string]any{"exp": now.Add(-time.Hour).Unix(), "aud": "other"},
		},
		{
			name:  "ttl and explicit numbers",
			query: "ttl=30s&iat=1600000000&runner_id=7",
			want:  map[string]any{"exp": now.Add(30 * time.Second).Unix(), "iat": int64(1600000000), "runner_id": int64(7)},
		},
		{
			name:  "audience list and omitted claim",
			query: "aud=a,b&omit=email_verified,sha",
			want:  map[string]any{"aud": []string{"a", "b"}, "sha": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := gitlabClaims("https://127.0.0.1:15010", q, now)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				g, _ := json.Marshal(got[k])
				w, _ := json.Marshal(want)
				if string(g) != string(w) {
					t.Errorf("claim %s = %s, want %s", k, g, w)
				}
			}
		})
	}
}

func TestGitlabClaimsBadInput(t *testing.T) {
	for _, query := range []string{"ttl=soon", "exp=tomorrow", "runner_id=x"} {
		q, _ := url.ParseQuery(query)
		if _, err := gitlabClaims("https://x", q, time.Now()); err == nil {
			t.Errorf("%s: no error", query)
		}
	}
}

func TestSignJWTVerifiesWithJWKS(t *testing.T) {
	k, err := generateKey()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signJWT(k, map[string]any{"sub": "x"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	j := k.jwk()
	n, _ := base64.RawURLEncoding.DecodeString(j.N)
	e, _ := base64.RawURLEncoding.DecodeString(j.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify with the JWKS key: %v", err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !strings.Contains(string(hdr), `"kid":"`+j.Kid+`"`) {
		t.Errorf("header %s lacks kid %s", hdr, j.Kid)
	}
}
