package signer_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

func keylessOptions(reg *signertest.Registry, ss *signertest.Sigstore, token string) signer.Options {
	return signer.Options{
		RemoteOptions:      reg.Options,
		IdentityToken:      token,
		FulcioURL:          ss.FulcioURL,
		InsecureSkipSCT:    true,
		SkipTlogUpload:     true,
		TimestampServerURL: ss.TSAURL,
	}
}

// closedURL returns an http URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestKeylessTokenRefused(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	valid := ss.Token("g/p", "sigstore", time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name   string
		token  string
		reason signer.TokenReason
	}{
		{"expired", ss.Token("g/p", "sigstore", time.Now().Add(-time.Minute)), signer.TokenExpired},
		{"wrong audience", ss.Token("g/p", "gitlab", time.Now().Add(time.Hour)), signer.TokenWrongAudience},
		{"malformed", "not-a-jwt", signer.TokenMalformed},
		{"malformed claims", strings.Split(valid, ".")[0] + ".e30x." + strings.Split(valid, ".")[2], signer.TokenMalformed},
		{"no expiry", strings.Split(valid, ".")[0] + ".e30." + strings.Split(valid, ".")[2], signer.TokenMalformed},
		{"blank", "  ", signer.TokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signer.New(context.Background(), keylessOptions(reg, ss, tc.token))
			var te *signer.TokenError
			if !errors.As(err, &te) || te.Reason != tc.reason {
				t.Fatalf("got %v, want a %q TokenError", err, tc.reason)
			}
			if strings.TrimSpace(tc.token) != "" && strings.Contains(err.Error(), tc.token) {
				t.Fatal("the error contains the token")
			}
		})
	}
	if n := ss.FulcioRequests.Load(); n != 0 {
		t.Fatalf("refused tokens were sent to Fulcio %d times", n)
	}
}

func TestKeylessServicesUnreachable(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	token := ss.Token("g/p", "sigstore", time.Now().Add(time.Hour))

	o := keylessOptions(reg, ss, token)
	o.FulcioURL = closedURL(t)
	_, err := signer.New(context.Background(), o)
	var se *signer.ServiceError
	if !errors.As(err, &se) || se.Service != "fulcio" || strings.Contains(err.Error(), token) {
		t.Fatalf("unreachable Fulcio: %v", err)
	}

	o = keylessOptions(reg, ss, token)
	o.TimestampServerURL = closedURL(t)
	s, err := signer.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Sign(context.Background(), signer.Subject{Digest: reg.Image(t, "app")}, nil)
	if !errors.As(err, &se) || se.Service != "timestamp authority" {
		t.Fatalf("unreachable TSA: %v", err)
	}
}

func TestKeylessFulcioRefusesToken(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	o := keylessOptions(reg, ss, ss.Token("g/p", "other", time.Now().Add(time.Hour)))
	o.TokenAudience = "other" // passes our check; the fake Fulcio wants "sigstore"
	_, err := signer.New(context.Background(), o)
	var se *signer.ServiceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("got %v", err)
	}
}

func TestKeylessSignIdempotent(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		for _, mode := range signer.Modes {
			t.Run(signertest.Name(referrers)+"/"+string(mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				ss := signertest.NewSigstore(t)
				d := reg.Image(t, "app")
				ann := map[string]string{"tag": "v1"}
				sign := func(project string) *signer.Result {
					o := keylessOptions(reg, ss, ss.Token(project, "sigstore", time.Now().Add(time.Hour)))
					o.Mode = mode
					s, err := signer.New(context.Background(), o)
					if err != nil {
						t.Fatal(err)
					}
					res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann)
					if err != nil {
						t.Fatal(err)
					}
					return res
				}
				if !sign("g/p").Added() {
					t.Fatal("first signature not added")
				}
				tsa := ss.TSARequests.Load()
				if sign("g/p").Added() {
					t.Fatal("same identity and annotations signed again")
				}
				if ss.TSARequests.Load() != tsa {
					t.Fatal("an unnecessary signature was timestamped")
				}
				if !sign("g/other").Added() {
					t.Fatal("another identity's signature was taken as already signed")
				}
			})
		}
	}
}
