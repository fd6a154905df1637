package signer_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestIdenticalSignaturesConverge runs signers in separate Signers (as
// separate processes: concurrent releases of the same content) that sign
// one digest at once with the same key and annotations, on a registry
// without faults and through one failing 10% of the requests. Each must
// succeed and one signature be left in the signature tag, not one per
// signer.
func TestIdenticalSignaturesConverge(t *testing.T) {
	const n = 4
	tests := []struct {
		name string
		rate float64
	}{{"no faults", 0}, {"10% faults", 0.10}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			upstream := signertest.NewRegistry(t, false)
			p, err := faultproxy.New("http://"+upstream.Host, faultproxy.Options{Rate: tt.rate, Seed: 15,
				Faults: append(slices.Clone(faultproxy.AllFaults), faultproxy.LostAnswer)})
			if err != nil {
				t.Fatal(err)
			}
			host, d, orig := imageBehind(t, upstream, p)
			signers := make([]*signer.Signer, n)
			for i := range n {
				signers[i] = regSignerFormat(t, host, fmt.Sprintf("signer-%d", i), signer.ModeLegacy, false)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, s := range signers {
				wg.Go(func() {
					_, errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			p.SetRate(0)
			if l, _ := stored(t, upstream, orig); l != 1 {
				t.Errorf("%d signers of the same content left %d signatures, want 1 (%d faults in %d requests)", n, l, p.Faults(), len(p.Requests()))
			}
		})
	}
}
