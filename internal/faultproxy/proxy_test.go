package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

func TestProxyLostAnswer(t *testing.T) {
	var got atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer up.Close()
	p, err := New(up.URL, Options{Rate: 1, Faults: []Fault{LostAnswer}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := p.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Post("http://"+addr+"/v2/x", "text/plain", strings.NewReader("body")); err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%s), want the connection reset", resp.Status)
	}
	if got.Load() != 1 {
		t.Errorf("upstream saw %d requests, want 1 (forwarded, answer lost)", got.Load())
	}
}

func TestProxyDelayAndForwardedHost(t *testing.T) {
	var got atomic.Int64
	var fwdHost atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		fwdHost.Store(r.Header.Get("X-Forwarded-Host"))
	}))
	defer up.Close()
	p, err := New(up.URL, Options{Delay: func(r *http.Request) time.Duration {
		if r.Method == http.MethodPut {
			return 300 * time.Millisecond
		}
		return 0
	}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := p.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("an undelayed request took %v", took)
	}
	if fwdHost.Load() != addr {
		t.Errorf("X-Forwarded-Host = %v, want %s", fwdHost.Load(), addr)
	}

	start = time.Now()
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/slow", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("a delayed request took %v, want at least 300ms", took)
	}

	// A client that gives up while held: the request never reaches upstream.
	before := got.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/abandoned", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("want the client's deadline")
	}
	time.Sleep(400 * time.Millisecond)
	if got.Load() != before {
		t.Errorf("an abandoned held request was forwarded")
	}
}
