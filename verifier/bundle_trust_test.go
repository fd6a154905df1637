package verifier_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestVerifyBundleExpiredCertificate: a bundle signed with a certificate
// that expired 10 minutes ago verifies with a TSA timestamp from while it
// was valid, and fails without one, or without trusting the TSA.
func TestVerifyBundleExpiredCertificate(t *testing.T) {
	reg, ss := signertest.NewRegistry(t, true), signertest.NewSigstore(t)
	ss.CertNotBefore = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	ss.TimestampTime = func() time.Time { return time.Now().Add(-15 * time.Minute) }
	withTS, withoutTS := reg.Image(t, "app"), reg.Image(t, "app")
	storeBundle(t, reg, withTS, signImage(t, withTS, nil, bundleOpts{ss: ss, project: "g/p", tsa: true}), layout.PredicateTypeSign)
	storeBundle(t, reg, withoutTS, signImage(t, withoutTS, nil, bundleOpts{ss: ss, project: "g/p"}), layout.PredicateTypeSign)
	p := verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}
	trustedRoot := verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true}
	for _, tc := range []struct {
		name  string
		d     name.Digest
		trust verifier.Trust
		ok    bool
	}{
		{"timestamped, CA files", withTS, keylessTrust(ss, true), true},
		{"timestamped, trusted root", withTS, trustedRoot, true},
		{"timestamp not trusted", withTS, keylessTrust(ss, false), false},
		{"no timestamp, CA files", withoutTS, keylessTrust(ss, true), false},
		{"no timestamp, trusted root", withoutTS, trustedRoot, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyBundle(t, reg, tc.d, p, tc.trust)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantChecks(t, err, verifier.CheckCertificate)
			if !strings.Contains(err.Error(), "expired") {
				t.Errorf("error %q does not say the certificate expired", err)
			}
		})
	}
}

// TestVerifyBundleKeyed verifies a key-signed bundle (public-key hint)
// with the key given directly.
func TestVerifyBundleKeyed(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	key, other := ephemeral(t), ephemeral(t)
	d := reg.Image(t, "app")
	storeBundle(t, reg, d, signImage(t, d, map[string]string{"tag": "v1"}, bundleOpts{key: key}), layout.PredicateTypeSign)
	for _, tc := range []struct {
		name string
		key  sgsign.Keypair
		ok   bool
	}{{"its key", key, true}, {"another key", other, false}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyBundle(t, reg, d, verifier.Policy{PublicKey: tc.key.GetPublicKey(), Annotations: map[string]string{"tag": "v1"}}, verifier.Trust{IgnoreTlog: true})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantChecks(t, err, verifier.CheckKey)
		})
	}
	ss := signertest.NewSigstore(t)
	_, err := verifyBundle(t, reg, d, verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}, keylessTrust(ss, true))
	wantChecks(t, err, verifier.CheckCertificate)
}

func ephemeral(t *testing.T) *sgsign.EphemeralKeypair {
	t.Helper()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestVerifyBundleSCTExplicit: the SCT check is skipped only when asked:
// a certificate without an SCT (the fake Fulcio has no CT log) fails it.
func TestVerifyBundleSCTExplicit(t *testing.T) {
	reg, ss := signertest.NewRegistry(t, true), signertest.NewSigstore(t)
	d := reg.Image(t, "app")
	storeBundle(t, reg, d, signImage(t, d, nil, bundleOpts{ss: ss, project: "g/p", tsa: true}), layout.PredicateTypeSign)
	p := verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}
	_, err := verifyBundle(t, reg, d, p, verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true})
	wantChecks(t, err, verifier.CheckSCT)
	if _, err := verifyBundle(t, reg, d, p, verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true}); err != nil {
		t.Fatal(err)
	}
}
