package release

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
)

// TestRolledBack: a failed pool release's error keeps its cause and
// stage and says, on one line, what the rollback did: nothing to do,
// everything withdrawn, or which signatures the registry kept.
func TestRolledBack(t *testing.T) {
	cause := StageError(StageBuild, errors.New("linux/arm64: exit code: 1"))
	refused := &signer.WithdrawError{Left: []string{"reg/app@sha256:aaa", "reg/app@sha256:bbb"},
		Err: fmt.Errorf("deleting reg/app@sha256:aaa: %w", signer.ErrDeleteRefused)}
	tests := []struct {
		name   string
		counts []int
		errs   []error
		want   []string // in the message
	}{
		{"nothing written", []int{0, 0}, []error{nil, nil}, nil},
		{"all withdrawn", []int{2, 3}, []error{nil, nil}, []string{"its 5 signatures and attestations were rolled back: nothing is signed"}},
		{"delete refused", []int{2, 3}, []error{nil, refused},
			[]string{"2 of 5 are still stored", "refuses to delete", "reg/app@sha256:aaa, reg/app@sha256:bbb; delete them"}},
		{"withdrawal failed", []int{1}, []error{errors.New("reading the tag:\nconnection refused")},
			[]string{"rolling back the release's 1 signatures and attestations failed: reading the tag:; connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rolledBack(cause, tt.counts, tt.errs)
			if !errors.Is(err, cause) || StageOf(err) != StageBuild {
				t.Fatalf("%v: the cause or its stage is lost", err)
			}
			msg := err.Error()
			if tt.want == nil && msg != cause.Error() {
				t.Errorf("got %q, want the cause alone", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("%q is not one line", msg)
			}
		})
	}
}
