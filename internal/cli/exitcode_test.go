package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
)

// TestExitCodeInputErrors: an error that is the input's fault is a usage
// error (2) whatever stage met it; the stage's own failures keep its code.
func TestExitCodeInputErrors(t *testing.T) {
	plain := fmt.Errorf("reading sha256-x.sig: Get \"http://r/v2/\": %w to r: use TLS", registry.ErrPlainHTTP)
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"plain HTTP refused in verify", inStage(release.StageVerify, fmt.Errorf("verifying d: %w", plain)), exitUsage},
		{"plain HTTP refused in sign", inStage(release.StageSign, fmt.Errorf("signing d: %w", plain)), exitUsage},
		{"plain HTTP refused in a build", inStage(release.StageBuild, plain), exitUsage},
		{"a registry dropping writes", inStage(release.StageSign, fmt.Errorf("signing d: %w", signer.ErrWriteDropped)), exitSign},
		{"a full signature tag", inStage(release.StageSign, fmt.Errorf("signing d: %w", signer.ErrSignatureTagFull)), exitSign},
		{"a verification failure", inStage(release.StageVerify, errors.New("no signature matches")), exitVerify},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := exitCode(c.err); got != c.want {
				t.Fatalf("exitCode(%v) = %d, want %d", c.err, got, c.want)
			}
		})
	}
}
