package ci

import "strings"

// TokenSource describes where a keyless signer would get its OIDC ID
// token from in this environment. It records presence only, never a token.
type TokenSource struct {
	// Variables names the variables that provide the token, e.g.
	// ["SIGSTORE_ID_TOKEN"] or the two ACTIONS_ID_TOKEN_REQUEST_* variables.
	Variables []string `json:"variables"`
	// Present reports whether all of Variables are set.
	Present bool `json:"present"`
	// Hint says how to make a token available when none is present.
	Hint string `json:"hint,omitempty"`
}

// String returns e.g. "SIGSTORE_ID_TOKEN (set)" or
// "SIGSTORE_ID_TOKEN (not set: HINT)".
func (t TokenSource) String() string {
	s := strings.Join(t.Variables, " + ")
	if t.Present {
		return s + " (set)"
	}
	return s + " (not set: " + t.Hint + ")"
}

// OIDC returns the OIDC token source for keyless signing. $SIGSTORE_ID_TOKEN
// wins everywhere (GitLab's id_tokens, or set by hand); on GitHub Actions
// the ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN pair, which the signer exchanges
// for a token through cosign's GitHub provider, is next.
func (e Env) OIDC() TokenSource {
	sigstore := TokenSource{Variables: []string{"SIGSTORE_ID_TOKEN"}, Present: e.get("SIGSTORE_ID_TOKEN") != ""}
	if sigstore.Present {
		return sigstore
	}
	switch e.Provider {
	case GitLab:
		sigstore.Hint = "add `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` to the job, or pass {signer.Options.Key}"
		return sigstore
	case GitHubActions:
		gh := TokenSource{Variables: []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}}
		gh.Present = e.get("ACTIONS_ID_TOKEN_REQUEST_URL") != "" && e.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN") != ""
		if !gh.Present {
			gh.Hint = "grant the job `permissions: id-token: write`, or pass {signer.Options.Key}"
		}
		return gh
	}
	sigstore.Hint = "set SIGSTORE_ID_TOKEN, pass {signer.Options.IdentityToken}, or pass {signer.Options.Key}"
	return sigstore
}
