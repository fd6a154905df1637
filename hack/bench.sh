#!/usr/bin/env bash
# hack/bench.sh: hallmark against the CLI pipeline it replaces (buildctl, a digest look-up, cosign),
# on the test bed; rewrites docs/benchmarks.md (its notes section is kept). Brings the bed up, builds
# hallmark and the benchmark's helpers, then runs hack/bench (see its doc comment for what it measures).
#   hack/bench.sh [-n 9] [-cases release,sign,scale,pool,cache] [-v] [-out FILE]
# Takes 4-7 minutes with -n 9 (more with the bundle and transparency-log cases). The pool and cache groups
# (issue 14) are not in the default -cases: they start their own buildkitd (as root) and the pool group builds
# buildx v0.36.1 the first time (hack/testbed.sh tool buildx, ~12 minutes on 2 busy cores). A run rewrites the
# sections of the groups it ran and keeps the others. Timings are only as quiet as the machine: check `uptime` first, and
# restart the bed (hack/testbed.sh down; hack/testbed.sh up) after a test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A shell that has the running bed's variables (source /tmp/bed.env, or eval "$(hack/testbed.sh env)")
# uses that bed as it is; otherwise the bed is brought up first.
if [[ ${HALLMARK_TESTBED:-} != 1 ]]; then
	bed_env=$(hack/testbed.sh up)
	eval "$bed_env"
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/hallmark" .
go build -o "$bin/digest" ./hack/bench/digest
go build -o "$bin/rusage" ./hack/bench/rusage
go build -o "$bin/bench" ./hack/bench
"$bin/bench" -hallmark "$bin/hallmark" -digest "$bin/digest" -rusage "$bin/rusage" -command "hack/bench.sh $*" "$@"
