package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProxyForwardsAndCounts(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.URL.Path)
	}))
	defer up.Close()
	tests := []struct {
		name       string
		rate       float64
		wantFaults bool
	}{
		{"no faults", 0, false},
		{"all faults", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(up.URL, Options{Rate: tt.rate, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			addr, stop, err := p.Serve()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			ok, failed := 0, 0
			for range 40 {
				resp, err := client.Get("http://" + addr + "/v2/x")
				if err != nil {
					failed++
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && string(body) == "upstream /v2/x" {
					ok++
				} else {
					failed++
				}
			}
			if got := len(p.Requests()); got != 40 {
				t.Errorf("counted %d requests, want 40", got)
			}
			if tt.wantFaults && (ok != 0 || p.Faults() != 40) {
				t.Errorf("rate 1: %d forwarded, %d faults; want 0 and 40", ok, p.Faults())
			}
			if !tt.wantFaults && (failed != 0 || p.Faults() != 0) {
				t.Errorf("rate 0: %d failed, %d faults; want none", failed, p.Faults())
			}
		})
	}
}

func TestProxyInjectsEveryKind(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	defer up.Close()
	p, err := New(up.URL, Options{Rate: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := p.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	seen := map[string]bool{}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 200 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			seen["reset"] = true
			continue
		}
		resp.Body.Close()
		key := resp.Status[:3]
		if resp.Header.Get("Retry-After") != "" {
			key += "+retry-after"
		}
		seen[key] = true
	}
	for _, f := range AllFaults {
		if !seen[string(f)] {
			t.Errorf("fault %s never seen in 200 requests (seen %v)", f, seen)
		}
	}
}
