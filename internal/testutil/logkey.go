package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	tilesnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// LogKey is a fresh transparency log key (ECDSA P-256, as the bed's logs'
// keys) and the entry a trusted root lists for it.
type LogKey struct {
	// Log is the trusted root's entry: BaseURL the URL given, ID the
	// SHA-256 of DER, valid from an hour ago.
	Log *root.TransparencyLog
	// DER is the PKIX public key, as trusted_root.json holds it.
	DER []byte
	key *ecdsa.PrivateKey
}

// NewLogKey makes a log key for the log at baseURL ("" for none).
func NewLogKey(t testing.TB, baseURL string) LogKey {
	t.Helper()
	k := ecKey(t)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	return LogKey{Log: &root.TransparencyLog{BaseURL: baseURL, ID: id[:], ValidityPeriodStart: time.Now().Add(-time.Hour),
		HashFunc: crypto.SHA256, PublicKey: &k.PublicKey, SignatureHashFunc: crypto.SHA256}, DER: der, key: k}
}

// Checkpoint is a Rekor v2 checkpoint of size entries signed with the key
// for origin (rekor-server --hostname: the host of the log's URL).
func (k LogKey) Checkpoint(t testing.TB, origin string, size uint64) []byte {
	t.Helper()
	sv, err := signature.LoadECDSASignerVerifier(k.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := tilesnote.NewNoteSigner(t.Context(), origin, sv)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("tree"))
	b, err := note.Sign(&note.Note{Text: string(log.Checkpoint{Origin: origin, Size: size, Hash: hash[:]}.Marshal())}, ns)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
