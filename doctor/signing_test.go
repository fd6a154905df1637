package doctor_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/signer"
)

func TestSigningToken(t *testing.T) {
	github := map[string]any{
		"iss": signer.GitHubActionsIssuer, "aud": []string{"sigstore"}, "sub": "repo:octo/app:ref:refs/heads/main",
		"exp": time.Now().Add(5 * time.Minute).Unix(), "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
	}
	email := map[string]any{
		"iss": "https://accounts.example.com", "aud": "sigstore", "sub": "1234",
		"email": "ada@example.com", "email_verified": true, "exp": time.Now().Add(time.Hour).Unix(),
	}
	expired, soon, wrongAud := gitlabClaims(-2*time.Minute), gitlabClaims(30*time.Second), gitlabClaims(time.Hour)
	wrongAud["aud"] = []string{"gitlab", "vault"}
	for _, tc := range []struct {
		name     string
		token    string
		status   doctor.Status
		detail   []string
		identity string
		hint     string
	}{
		{"gitlab", jwt(t, gitlabClaims(10*time.Minute)), doctor.StatusOK,
			[]string{"https://gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main", "from https://gitlab.example.com", "audience sigstore", "expires in"},
			"https://gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main", ""},
		{"github", jwt(t, github), doctor.StatusOK, []string{"https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"},
			"https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main", ""},
		{"email", jwt(t, email), doctor.StatusOK, []string{"for ada@example.com"}, "ada@example.com", ""},
		{"expired", jwt(t, expired), doctor.StatusFail, []string{"expired at", "ago"}, "https://gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main", "fresh token"},
		{"expiring within a minute", jwt(t, soon), doctor.StatusFail, []string{"expires at", "too soon"}, "", "fresh token"},
		{"wrong audience", jwt(t, wrongAud), doctor.StatusFail, []string{`audience "gitlab,vault", want "sigstore"`}, "", "aud: sigstore"},
		{"malformed", "not-a-jwt", doctor.StatusFail, []string{"malformed OIDC identity token"}, "", "SIGSTORE_ID_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.IdentityToken = tc.token
			r := doctor.Run(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckSigning)
			wantCheck(t, c, tc.status, tc.detail, tc.hint)
			if tc.identity != "" && c.Facts["identity"] != tc.identity {
				t.Errorf("identity fact %q, want %q", c.Facts["identity"], tc.identity)
			}
			if c.Stage != doctor.StageSign {
				t.Errorf("stage %s, want sign", c.Stage)
			}
			noSecret(t, r, tc.token, tokenSignature)
		})
	}
}

func TestSigningMissingMaterial(t *testing.T) {
	t.Run("nothing", func(t *testing.T) {
		r := doctor.Run(t.Context(), offline(t))
		wantCheck(t, mustCheck(t, r, doctor.CheckSigning), doctor.StatusFail, []string{"no signing key and no OIDC identity token"},
			"SIGSTORE_ID_TOKEN", "aud: sigstore", "id-token: write", "{signer.Options.Key}")
	})
	t.Run("environment hint", func(t *testing.T) {
		o := offline(t)
		o.TokenHint = "grant the job `permissions: id-token: write`, or pass {signer.Options.Key}"
		r := doctor.Run(t.Context(), o)
		wantCheck(t, mustCheck(t, r, doctor.CheckSigning), doctor.StatusFail, nil, o.TokenHint)
	})
	t.Run("token error", func(t *testing.T) {
		o := offline(t)
		o.TokenErr = errors.New("reading --identity-token-file: no such file")
		r := doctor.Run(t.Context(), o)
		wantCheck(t, mustCheck(t, r, doctor.CheckSigning), doctor.StatusFail, []string{"getting the OIDC identity token", "no such file"})
	})
}

func TestSigningKey(t *testing.T) {
	const password = "key-Pa55word"
	kp, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(key, kp.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, password string
		status              doctor.Status
		detail              []string
		hint                string
	}{
		{"loads", key, password, doctor.StatusOK, []string{"key " + key + " loads"}, ""},
		{"wrong password", key, "wrong", doctor.StatusFail, []string{"wrong password"}, "COSIGN_PASSWORD"},
		{"missing", key + ".missing", password, doctor.StatusFail, []string{"loading key", "cosign.key.missing"}, "{signer.Options.Key}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.Key, o.Signer.Password = tc.key, []byte(tc.password)
			o.Signer.IdentityToken = jwt(t, gitlabClaims(time.Hour)) // a key wins, as in release
			r := doctor.Run(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckSigning)
			wantCheck(t, c, tc.status, tc.detail, tc.hint)
			if c.Facts["mode"] != "key" {
				t.Errorf("mode %q, want key", c.Facts["mode"])
			}
			if f := mustCheck(t, r, doctor.CheckFulcio); f.Status != doctor.StatusSkip {
				t.Errorf("fulcio: status %s, want skip when signing with a key", f.Status)
			}
			noSecret(t, r, password, o.Signer.IdentityToken)
		})
	}
}

func TestInspectToken(t *testing.T) {
	ghes := map[string]any{"iss": "https://ghe.example.com/_services/token", "aud": "sigstore", "sub": "repo:o/a",
		"exp": 2000000000, "job_workflow_ref": "o/a/.github/workflows/r.yml@refs/tags/v1"}
	unverified := map[string]any{"iss": "https://idp.example.com", "aud": "sigstore", "sub": "42", "email": "x@example.com", "exp": 2000000000}
	subOnly := map[string]any{"iss": "https://idp.example.com", "aud": []string{"a", "sigstore"}, "sub": "spiffe://x/y", "exp": 2000000000}
	for _, tc := range []struct {
		name            string
		claims          map[string]any
		identity, claim string
		audiences       int
	}{
		{"gitlab", gitlabClaims(-time.Hour), "https://gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main", "ci_config_ref_uri", 1},
		{"github enterprise", ghes, "https://ghe.example.com/o/a/.github/workflows/r.yml@refs/tags/v1", "job_workflow_ref", 1},
		{"unverified email", unverified, "", "", 1},
		{"subject", subOnly, "spiffe://x/y", "sub", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := signer.InspectToken(jwt(t, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if info.Identity != tc.identity || info.IdentityClaim != tc.claim || len(info.Audiences) != tc.audiences {
				t.Errorf("got %+v, want identity %q from %q, %d audiences", info, tc.identity, tc.claim, tc.audiences)
			}
			if info.Issuer != tc.claims["iss"] || info.Expiry.IsZero() {
				t.Errorf("issuer %q expiry %v", info.Issuer, info.Expiry)
			}
		})
	}
	for _, bad := range []string{"", "a.b", "e30.e30.x", "!!.e30.x"} {
		var te *signer.TokenError
		if _, err := signer.InspectToken(bad); !errors.As(err, &te) {
			t.Errorf("InspectToken(%q) = %v, want a *TokenError", bad, err)
		}
	}
}
