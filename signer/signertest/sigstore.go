package signertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Sigstore is a fake Fulcio (v1 signingCert API, no CT log) and RFC 3161
// timestamp authority on loopback, for offline keyless tests. Fulcio
// trusts any token whose audience is "sigstore" and that has not expired;
// it does not check the token's signature.
type Sigstore struct {
	FulcioURL string
	TSAURL    string
	// Issuer is recorded as the OIDC issuer in every certificate.
	Issuer string
	// CARoots, CAIntermediates and TSAChain are PEM files for verifiers;
	// TrustedRoot is a trusted_root.json with the Fulcio CA and the TSA.
	CARoots, CAIntermediates, TSAChain, TrustedRoot string
	// CertNotBefore, when set, back-dates certificates (they are valid for
	// 10 minutes from it); TimestampTime sets the time the TSA vouches for.
	CertNotBefore func() time.Time
	TimestampTime func() time.Time
	// FulcioRequests and TSARequests count requests.
	FulcioRequests, TSARequests atomic.Int64

	caKey, tsaKey *ecdsa.PrivateKey
	ca, tsaLeaf   *x509.Certificate
}

// NewSigstore starts the fake services, stopped when the test ends.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	s := &Sigstore{Issuer: "https://gitlab.example.com"}
	now := time.Now()
	rootKey, root := NewCA(t, "fake fulcio root", nil, nil, now)
	s.caKey, s.ca = NewCA(t, "fake fulcio intermediate", root, rootKey, now)
	tsaRootKey, tsaRoot := NewCA(t, "fake tsa root", nil, nil, now)
	s.tsaKey, s.tsaLeaf = newTSALeaf(t, tsaRoot, tsaRootKey, now)
	dir := t.TempDir()
	s.CARoots = WritePEM(t, dir, "fulcio-root.pem", root)
	s.CAIntermediates = WritePEM(t, dir, "fulcio-intermediate.pem", s.ca)
	s.TSAChain = WritePEM(t, dir, "tsa-chain.pem", s.tsaLeaf, tsaRoot)
	f := httptest.NewServer(http.HandlerFunc(s.fulcio))
	t.Cleanup(f.Close)
	ts := httptest.NewServer(http.HandlerFunc(s.tsa))
	t.Cleanup(ts.Close)
	s.FulcioURL, s.TSAURL = f.URL, ts.URL+"/api/v1/timestamp"
	s.TrustedRoot = writeTrustedRoot(t, dir, s, root, tsaRoot, now)
	return s
}

func writeTrustedRoot(t testing.TB, dir string, s *Sigstore, fulcioRoot, tsaRoot *x509.Certificate, now time.Time) string {
	t.Helper()
	tr, err := sgroot.NewTrustedRoot(sgroot.TrustedRootMediaType01,
		[]sgroot.CertificateAuthority{&sgroot.FulcioCertificateAuthority{
			Root: fulcioRoot, Intermediates: []*x509.Certificate{s.ca}, ValidityPeriodStart: now.Add(-24 * time.Hour), URI: s.FulcioURL,
		}},
		map[string]*sgroot.TransparencyLog{},
		[]sgroot.TimestampingAuthority{&sgroot.SigstoreTimestampingAuthority{
			Root: tsaRoot, Leaf: s.tsaLeaf, ValidityPeriodStart: now.Add(-24 * time.Hour), URI: s.TSAURL,
		}},
		map[string]*sgroot.TransparencyLog{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Identity returns the certificate subject (URI SAN) Fulcio issues for a
// token of Token(project, ...): GitLab's ci_config_ref_uri shape.
func (s *Sigstore) Identity(project string) string {
	return s.Issuer + "/" + project + "//.gitlab-ci.yml@refs/heads/main"
}

// Token returns a GitLab-shaped ID token (unsigned as far as anyone
// checks) for project, with audience aud, expiring at exp.
func (s *Sigstore) Token(project, aud string, exp time.Time) string {
	claims := map[string]any{
		"iss": s.Issuer, "sub": "project_path:" + project + ":ref_type:branch:ref:main", "aud": aud,
		"exp": exp.Unix(), "iat": time.Now().Unix(),
		"ci_config_ref_uri": strings.TrimPrefix(s.Identity(project), "https://"),
	}
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(b) + "." + enc.EncodeToString([]byte("not-a-signature"))
}

func (s *Sigstore) fulcio(w http.ResponseWriter, r *http.Request) {
	s.FulcioRequests.Add(1)
	var claims struct {
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		URI string `json:"ci_config_ref_uri"`
	}
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	if len(parts) != 3 {
		http.Error(w, "malformed token", http.StatusUnauthorized)
		return
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil ||
		claims.Aud != "sigstore" || time.Unix(claims.Exp, 0).Before(time.Now()) {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKey struct {
			Content []byte `json:"content"`
		} `json:"publicKey"`
		SignedEmailAddress []byte `json:"signedEmailAddress"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(req.PublicKey.Content)
	ec, ok := pub.(*ecdsa.PublicKey)
	sum := sha256.Sum256([]byte(claims.Sub))
	if err != nil || !ok || !ecdsa.VerifyASN1(ec, sum[:], req.SignedEmailAddress) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	leaf, err := s.issue(ec, "https://"+claims.URI)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusCreated)
	for _, c := range []*x509.Certificate{leaf, s.ca} {
		b, _ := cryptoutils.MarshalCertificateToPEM(c)
		w.Write(b)
	}
}

// issue makes a 10-minute code-signing certificate for identity.
func (s *Sigstore) issue(pub *ecdsa.PublicKey, identity string) (*x509.Certificate, error) {
	nb := time.Now().Add(-time.Second)
	if s.CertNotBefore != nil {
		nb = s.CertNotBefore()
	}
	uri, err := parseURL(identity)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), NotBefore: nb, NotAfter: nb.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            uri,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(s.Issuer)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, pub, s.caKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (s *Sigstore) tsa(w http.ResponseWriter, r *http.Request) {
	s.TSARequests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	at := time.Now()
	if s.TimestampTime != nil {
		at = s.TimestampTime()
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: at, Nonce: req.Nonce,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(s.tsaLeaf, s.tsaKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

func newTSALeaf(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "fake tsa"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	return key, CreateCertificate(t, tmpl, parent, &key.PublicKey, parentKey)
}
