package verifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

func signKeyless(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, d name.Digest, mode signer.Mode, project string, tsa bool, ann map[string]string) {
	t.Helper()
	o := signer.Options{
		RemoteOptions: reg.Options, Mode: mode,
		IdentityToken: ss.Token(project, "sigstore", time.Now().Add(time.Hour)),
		FulcioURL:     ss.FulcioURL, InsecureSkipSCT: true, SkipTlogUpload: true,
	}
	if tsa {
		o.TimestampServerURL = ss.TSAURL
	}
	s, err := signer.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann); err != nil {
		t.Fatal(err)
	}
}

func keylessTrust(ss *signertest.Sigstore, tsa bool) verifier.Trust {
	tr := verifier.Trust{CARoots: ss.CARoots, CAIntermediates: ss.CAIntermediates, IgnoreTlog: true, IgnoreSCT: true}
	if tsa {
		tr.TimestampCertChain = ss.TSAChain
	}
	return tr
}

func TestVerifyKeyless(t *testing.T) {
	ann := map[string]string{"tag": "v1"}
	forEachLayout(t, func(t *testing.T, reg *signertest.Registry, mode signer.Mode) {
		ss := signertest.NewSigstore(t)
		d := reg.Image(t, "app")
		signKeyless(t, reg, ss, d, mode, "g/p", true, ann)
		id := ss.Identity("g/p")
		for _, tc := range []struct {
			name string
			p    verifier.Policy
			want verifier.Check // "" passes
		}{
			{"identity and issuer", verifier.Policy{Identity: id, Issuer: ss.Issuer, Annotations: ann}, ""},
			{"regexps", verifier.Policy{IdentityRegexp: `^https://gitlab\.example\.com/g/.*@refs/heads/main$`, IssuerRegexp: `gitlab\.example\.com`}, ""},
			{"wrong identity", verifier.Policy{Identity: ss.Identity("g/other"), Issuer: ss.Issuer}, verifier.CheckIdentity},
			{"wrong issuer", verifier.Policy{Identity: id, Issuer: "https://gitlab.com"}, verifier.CheckIssuer},
			{"wrong annotation", verifier.Policy{Identity: id, Issuer: ss.Issuer, Annotations: map[string]string{"tag": "v2"}}, verifier.CheckAnnotation},
			{"a key", verifier.Policy{Key: signertest.Keys(t, "a").Public}, verifier.CheckKey},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := verifier.Verify(context.Background(), d, verifier.Options{
					RemoteOptions: reg.Options, Policy: tc.p, Trust: keylessTrust(ss, true),
				})
				if tc.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					if _, err := res.JSON(); err != nil {
						t.Fatal(err)
					}
					return
				}
				if got := failed(t, err); got[0] != tc.want {
					t.Fatalf("failed checks %v, want %v", got, tc.want)
				}
			})
		}
	})
}

// TestVerifyExpiredCertificate signs with a certificate that expired 10
// minutes ago: a signed timestamp from while it was valid keeps the
// signature valid; without one (or without trusting the TSA) it fails.
func TestVerifyExpiredCertificate(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	ss := signertest.NewSigstore(t)
	ss.CertNotBefore = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	ss.TimestampTime = func() time.Time { return time.Now().Add(-15 * time.Minute) }
	withTS, withoutTS := reg.Image(t, "app"), reg.Image(t, "app")
	signKeyless(t, reg, ss, withTS, signer.ModeLegacy, "g/p", true, nil)
	signKeyless(t, reg, ss, withoutTS, signer.ModeLegacy, "g/p", false, nil)
	p := verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}
	trustedRoot := verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true}
	for _, tc := range []struct {
		name  string
		d     name.Digest
		trust verifier.Trust
		ok    bool
	}{
		{"timestamped", withTS, keylessTrust(ss, true), true},
		{"timestamp not trusted", withTS, keylessTrust(ss, false), false},
		{"no timestamp", withoutTS, keylessTrust(ss, true), false},
		{"timestamped, trusted root", withTS, trustedRoot, true},
		{"no timestamp, trusted root", withoutTS, trustedRoot, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier.Verify(context.Background(), tc.d, verifier.Options{
				RemoteOptions: reg.Options, Policy: p, Trust: tc.trust,
			})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := failed(t, err); got[0] != verifier.CheckCertificate {
				t.Fatalf("failed checks %v, want %v", got, verifier.CheckCertificate)
			}
		})
	}
}

func TestVerifyKeyedSignatureAgainstIdentity(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "a", nil)
	_, err := verifier.Verify(context.Background(), d, verifier.Options{
		RemoteOptions: reg.Options, Policy: verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}, Trust: keylessTrust(ss, true),
	})
	if got := failed(t, err); got[0] != verifier.CheckCertificate {
		t.Fatalf("failed checks %v", got)
	}
}
