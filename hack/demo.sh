#!/usr/bin/env bash
# hack/demo.sh: the main job end to end on local defaults.
# Brings up the local bed (buildkitd, registries), builds hallmark, then builds and pushes the
# example image (Dockerfile.test) and prints the pinned digest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval "$(hack/testbed.sh up build)"
echo "demo: building hallmark" >&2
go build -o bin/hallmark .
cp "$HALLMARK_TEST_BUSYBOX" testdata/build/busybox

image=$HALLMARK_TEST_REGISTRY_PLAIN/demo/hallmark-example
bin/hallmark build \
	--addr "$HALLMARK_TEST_BUILDKIT_UNIX" \
	--insecure-registry "$HALLMARK_TEST_REGISTRY_PLAIN" \
	-f Dockerfile.test \
	--tag "$image:$(date +%s)" --tag "$image:latest" \
	testdata/build
