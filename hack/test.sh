#!/usr/bin/env bash
# hack/test.sh: every check and test hallmark has, on a fresh machine or a warm one.
# Brings the test bed up (hack/testbed.sh installs and starts what is missing), then runs
# gofmt, go vet, staticcheck and `go test` over every package, end-to-end tests included.
#   hack/test.sh [go test flags...]      e.g. hack/test.sh -run TestBuild ./e2e
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$SECONDS
bed_env=$(hack/testbed.sh up)
eval "$bed_env"
echo "test: bed up in $((SECONDS - start))s" >&2

unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	echo "test: gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...

# staticcheck, built once from the Go module proxy and reused from the cache.
staticcheck_version=v0.8.2 # staticcheck 2026.2.2, built with Go 1.26
staticcheck_dir=${HALLMARK_CACHE:-/var/cache/hallmark}/tools/staticcheck-$staticcheck_version
if [[ ! -x $staticcheck_dir/staticcheck ]]; then
	mkdir -p "$staticcheck_dir"
	GOBIN=$staticcheck_dir go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck_dir/staticcheck" ./...

if (($#)); then
	go test -count=1 -timeout 30m "$@"
else
	go test -count=1 -timeout 30m ./...
fi
echo "test: done in $((SECONDS - start))s" >&2
