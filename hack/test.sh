#!/usr/bin/env bash
# hack/test.sh: every check and test hallmark has, on a fresh machine or a warm one.
# Brings the test bed up (hack/testbed.sh installs and starts what is missing), then runs
# gofmt, go vet and `go test` over every package, end-to-end tests included.
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

if (($#)); then
	go test -count=1 -timeout 30m "$@"
else
	go test -count=1 -timeout 30m ./...
fi
echo "test: done in $((SECONDS - start))s" >&2
