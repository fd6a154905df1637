package cli

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
)

// platformTargets is sign --recursive (cosign's): after each index among
// the subjects, its platform manifests (attestation manifests excepted, as
// release --recursive), each signed with the index's annotations. An
// index that cannot be read fails its own target.
func platformTargets(ctx context.Context, reg *registry.Registry, targets []signTarget, subjects []signer.Subject, errs []error) ([]signTarget, []signer.Subject, []error) {
	var outT []signTarget
	var outS []signer.Subject
	var outE []error
	for i, s := range subjects {
		outT, outS, outE = append(outT, targets[i]), append(outS, s), append(outE, errs[i])
		if errs[i] != nil || !s.MediaType.IsIndex() {
			continue
		}
		idx, err := remote.Index(s.Digest, reg.RemoteOptions(ctx)...)
		var im *v1.IndexManifest
		if err == nil {
			im, err = idx.IndexManifest()
		}
		if err != nil {
			outE[len(outE)-1] = fmt.Errorf("reading index %s for --recursive: %w", s.Digest, err)
			continue
		}
		for _, m := range im.Manifests {
			if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" || !m.MediaType.IsImage() {
				continue
			}
			d := s.Digest.Context().Digest(m.Digest.String())
			outT = append(outT, signTarget{ref: d, annotations: targets[i].annotations})
			outS = append(outS, signer.Subject{Digest: d, MediaType: m.MediaType, Size: m.Size})
			outE = append(outE, nil)
		}
	}
	return outT, outS, outE
}
