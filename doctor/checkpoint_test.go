package doctor_test

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// rekorV2 stands in for a Rekor v2 whose write API answers (its gRPC
// gateway's 501 for GET /api/v2/checkpoint, as rekor-tiles) and that
// serves checkpoint at /checkpoint, or nothing there when it is nil. (The
// bed's Rekor v2 is checked in e2e/doctor_sigstore_test.go.)
func rekorV2(t *testing.T, checkpoint func() []byte) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v2/checkpoint":
			http.Error(w, `{"code":12}`, http.StatusNotImplemented)
		case r.URL.Path == "/checkpoint" && checkpoint != nil:
			_, _ = w.Write(checkpoint())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// TestRekorV2Checkpoint: a Rekor v2's checkpoint must be signed by the key
// the trusted root lists for its URL; each way it is not is named, with
// the log and the keys.
func TestRekorV2Checkpoint(t *testing.T) {
	ss := signertest.NewSigstore(t)
	const otherURL = "https://rekor.other.example"
	var sign, signOther, signUnknown func(uint64) []byte // set below, called per request
	good := rekorV2(t, func() []byte { return sign(3) })
	wrongKey := rekorV2(t, func() []byte { return signUnknown(3) })
	other := rekorV2(t, func() []byte { return signOther(3) })
	notServed := rekorV2(t, nil)
	proxied := rekorV2(t, func() []byte { return sign(3) }) // the log of good, behind another URL
	garbage := rekorV2(t, func() []byte { return []byte("not a note\n") })
	key, keyOther, keyUnknown := testutil.NewLogKey(t, good), testutil.NewLogKey(t, otherURL), testutil.NewLogKey(t, "")
	l, lOther := key.Log, keyOther.Log
	sign = func(n uint64) []byte { return key.Checkpoint(t, "127.0.0.1", n) }
	signOther = func(n uint64) []byte { return keyOther.Checkpoint(t, "127.0.0.1", n) }
	signUnknown = func(n uint64) []byte { return keyUnknown.Checkpoint(t, "127.0.0.1", n) }
	id := hex.EncodeToString(l.ID)
	at := func(base string, k *root.TransparencyLog) *root.TransparencyLog {
		c := *k
		c.BaseURL = base
		return &c
	}
	for _, tc := range []struct {
		name   string
		url    string
		logs   []*root.TransparencyLog
		status doctor.Status
		detail []string
	}{
		{"signed by the trusted key", good, []*root.TransparencyLog{l, lOther}, doctor.StatusOK,
			[]string{"its checkpoint (origin 127.0.0.1, 3 entries) is signed by the trusted root's key for it", id}},
		{"signed by another key", wrongKey, []*root.TransparencyLog{at(wrongKey, l)}, doctor.StatusFail,
			[]string{"the checkpoint of Rekor v2 at " + wrongKey + " is not signed by the trusted root", "log ID " + id, "signed by 127.0.0.1+", "a key the trusted root does not hold"}},
		{"signed by the key of another log", other, []*root.TransparencyLog{at(other, l), lOther}, doctor.StatusFail,
			[]string{"is not signed", "the key the trusted root lists for " + otherURL}},
		{"not a signed note", garbage, []*root.TransparencyLog{at(garbage, l)}, doctor.StatusFail, []string{"it is not a signed note"}},
		{"no checkpoint served", notServed, []*root.TransparencyLog{at(notServed, l)}, doctor.StatusWarn,
			[]string{"serves no checkpoint at " + notServed + "/checkpoint", "cannot be recovered"}},
		{"log not in the trusted root", wrongKey, []*root.TransparencyLog{l}, doctor.StatusFail,
			[]string{"holds no key valid now for the Rekor at " + wrongKey, "its checkpoint is signed by 127.0.0.1+", "a key the trusted root does not hold"}},
		{"the trusted log behind another URL", proxied, []*root.TransparencyLog{l, lOther}, doctor.StatusOK,
			[]string{"its checkpoint (origin 127.0.0.1, 3 entries) is signed by the trusted root's key for it", id, "the trusted root lists this log at " + good}},
		{"another log's checkpoint behind an unlisted URL", other, []*root.TransparencyLog{l, lOther}, doctor.StatusFail,
			[]string{"holds no key valid now for the Rekor at " + other}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Signer.Key = "unused.key"
			o.Signer.SkipTlogUpload, o.Signer.RekorURL, o.Signer.RekorVersion, o.Signer.Bundle = false, tc.url, 2, true
			o.Signer.TimestampServerURL = ss.TSAURL
			o.Verify.IgnoreTlog, o.Verify.TrustedRoot = false, trustedRoot(t, tc.logs, nil)
			r := doctor.Sigstore(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckRekor)
			wantCheck(t, c, tc.status, tc.detail)
			t.Logf("%s: %s", c.Status, c.Detail)
		})
	}
}
