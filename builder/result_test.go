package builder

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const (
	dgst  = "sha256:21e7424d66ab5dddc7c744ba22d7a6358bb676fb4d37d7f01452c85da38cb030"
	other = "sha256:85ca4107a7223b464f3fcb4e8b6982ede5498897bd7e2acdf5f32335482415c0"
)

func desc(d string) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","size":861}`))
}

func TestParseExporterResponse(t *testing.T) {
	tests := []struct {
		name      string
		exp       map[string]string
		wantErr   string
		wantIs    error
		wantMT    string
		wantSize  int64
		wantDgstr string
	}{
		{"digest only", map[string]string{"containerimage.digest": dgst}, "", nil, "", 0, dgst},
		{"with descriptor", map[string]string{"containerimage.digest": dgst, "containerimage.descriptor": desc(dgst)}, "", nil, "application/vnd.oci.image.manifest.v1+json", 861, dgst},
		{"missing digest", map[string]string{"image.name": "x"}, "", ErrNoDigest, "", 0, ""},
		{"empty digest", map[string]string{"containerimage.digest": ""}, "", ErrNoDigest, "", 0, ""},
		{"invalid digest", map[string]string{"containerimage.digest": "sha256:xyz"}, "invalid image digest", nil, "", 0, ""},
		{"descriptor disagrees", map[string]string{"containerimage.digest": dgst, "containerimage.descriptor": desc(other)}, "but descriptor", nil, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := parseExporterResponse(tt.exp)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantIs)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if res.Digest.String() != tt.wantDgstr || res.MediaType != tt.wantMT || res.Size != tt.wantSize {
				t.Errorf("got %s %q %d, want %s %q %d", res.Digest, res.MediaType, res.Size, tt.wantDgstr, tt.wantMT, tt.wantSize)
			}
		})
	}
}

func TestCleanError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`failed to call info: Unavailable: connection error: desc = "transport: Error while dialing: dial unix /x.sock: connect: no such file or directory"`, "dial unix /x.sock: connect: no such file or directory"},
		{"failed to solve: dockerfile parse error on line 2: unknown instruction: FOO", "failed to solve: dockerfile parse error on line 2: unknown instruction: FOO"},
		// kubectl's own words, as the kube-pod:// helper reports them (from
		// a kubectl without a cluster, trimmed to two stderr lines).
		{`failed to call info: Unavailable: connection error: desc = "error reading server preface: command [kubectl --context= --namespace= exec --container= -i buildkitd-0 -- buildctl dial-stdio] has exited with exit status 1, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=E1126 15:13:39.855969   19978 memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list: Get \\\"http://localhost:8080/api?timeout=32s\\\": dial tcp 127.0.0.1:8080: connect: connection refused\"\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n"`,
			"`kubectl --context= --namespace= exec --container= -i buildkitd-0 -- buildctl dial-stdio` exited with exit status 1: The connection to the server localhost:8080 was refused - did you specify the right host or port?"},
		{`failed to call info: Unavailable: connection error: desc = "error reading server preface: command [docker exec -i sidecar buildctl dial-stdio] has exited with exit status 127, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr="`,
			"`docker exec -i sidecar buildctl dial-stdio` exited with exit status 127"},
	}
	for _, tt := range tests {
		if got := cleanError(errors.New(tt.in)); got != tt.want {
			t.Errorf("cleanError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
