#!/usr/bin/env bash
# hack/testbed.sh: the services hallmark's end-to-end tests need, on 127.0.0.1.
#
#   hack/testbed.sh up [GROUP|SERVICE...]   install what is missing, start what is not running,
#                                           print the test environment (export lines) on stdout
#   hack/testbed.sh down                    stop what this script started (by recorded PID)
#   hack/testbed.sh env                     print the test environment of the running services
#   hack/testbed.sh status                  one line per service
#   hack/testbed.sh tool NAME               build a tool the bed does not start (buildx, for
#                                           hack/bench's pool case) unless cached; print its path
#
# Groups: build (buildkitd, buildkitd-rootless, buildkitd-pool, registry-plain, registry-referrers), sign (oidc,
# fulcio, ctlog, tsa, rekor, rekor-front, the trusted roots and signing config, cosign v2.6.5 and v3.1.3 CLIs),
# all (default). Progress goes to stderr; only `env` and `up` write to stdout. See hack/README.md.
#
# Settings (environment):
#   HALLMARK_CACHE           built tools, kept between runs   (default /var/cache/hallmark)
#   HALLMARK_TESTBED_DIR     state: configs, data, logs, pids  (default /tmp/hallmark-testbed)
#   HALLMARK_TESTBED_PORTS   first port of the block used     (default 15000)
#   HALLMARK_TESTBED_ROOTLESS_USER  the unprivileged user of buildkitd-rootless, created when
#                            missing                          (default hallmark-rootless)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HALLMARK_CACHE:-/var/cache/hallmark}
STATE=${HALLMARK_TESTBED_DIR:-/tmp/hallmark-testbed}
BASE=${HALLMARK_TESTBED_PORTS:-15000}

PORT_BUILDKIT=$((BASE + 1))
PORT_REGISTRY_PLAIN=$((BASE + 2))
PORT_REGISTRY_REFERRERS=$((BASE + 3))
PORT_BUILDKIT_POOL=$((BASE + 4))
PORT_OIDC=$((BASE + 10))
PORT_OIDC_MINT=$((BASE + 11))
PORT_FULCIO=$((BASE + 12))
PORT_FULCIO_GRPC=$((BASE + 13))
PORT_FULCIO_METRICS=$((BASE + 14))
PORT_TSA=$((BASE + 15))
PORT_TSA_METRICS=2112 # hard-coded in timestamp-server v2.1.3, on all interfaces
PORT_CTLOG=$((BASE + 16))
PORT_REKOR=$((BASE + 17))
PORT_REKOR_GRPC=$((BASE + 18))
PORT_REKOR_METRICS=$((BASE + 19)) # never 2112 (the TSA's) nor rekor's defaults 3000/3001
# rekor-server's own HTTP port (the write API); PORT_REKOR is rekor-front's, which serves the tiles
# and passes the rest on to it.
PORT_REKOR_API=$((BASE + 20))

TLS=$STATE/tls
BUILDKIT_SOCK=$STATE/buildkitd.sock
# buildkitd-pool: a third buildkitd for the pool tests, whose worker claims other platforms than the
# host's (--oci-worker-platform). Without QEMU a RUN step runs the host's binaries whatever the
# platform; the tests' Dockerfiles are platform-independent.
POOL_SOCK=$STATE/buildkitd-pool.sock
POOL_PLATFORMS=(linux/arm64 linux/arm/v7 linux/riscv64)
BUSYBOX=/bin/busybox
# Rootless buildkitd: run by ROOTLESS_USER under rootlesskit; its XDG_RUNTIME_DIR (0700, the
# user's) holds the socket where hallmark looks by default.
ROOTLESS_USER=${HALLMARK_TESTBED_ROOTLESS_USER:-hallmark-rootless}
ROOTLESS_DIR=$STATE/rootless
ROOTLESS_RUNTIME_DIR=$ROOTLESS_DIR/run
ROOTLESS_SOCK=$ROOTLESS_RUNTIME_DIR/buildkit/buildkitd.sock
OIDC_ISSUER=https://127.0.0.1:$PORT_OIDC
FULCIO_URL=http://127.0.0.1:$PORT_FULCIO
TSA_URL=http://127.0.0.1:$PORT_TSA/api/v1/timestamp
CTLOG_URL=http://127.0.0.1:$PORT_CTLOG
# A static-CT origin is host/path, without a scheme (127.0.0.1:PORT is refused).
CTLOG_ORIGIN=ct.local/hallmark-testbed
REKOR_URL=http://127.0.0.1:$PORT_REKOR
REKOR_API_URL=http://127.0.0.1:$PORT_REKOR_API
# Rekor v2's checkpoint origin: clients check it against the host (no port) of the Rekor URL in
# the trusted root.
REKOR_ORIGIN=127.0.0.1
# The trust and service files of the whole instance (Fulcio + CT log + Rekor v2 + TSA), written
# with cosign v3; $STATE/trusted_root.json stays Fulcio + TSA only.
SIGSTORE_DIR=$STATE/sigstore

BUILD_SERVICES=(buildkitd buildkitd-rootless buildkitd-pool registry-plain registry-referrers)
# In start order: the CT log needs Fulcio's root, rekor-front rekor's storage.
SIGN_SERVICES=(oidc fulcio ctlog tsa rekor rekor-front)
ALL_SERVICES=("${BUILD_SERVICES[@]}" "${SIGN_SERVICES[@]}")
TLS_SERVICES="buildkitd buildkitd-pool oidc fulcio" # restarted when the certificates are remade
CERTS_RENEWED=

# Go tools built from the tools modules under hack/tools: NAME MODULE PACKAGE...
BUILDKIT_TOOL=(buildkit github.com/moby/buildkit
	github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
FULCIO_TOOL=(fulcio github.com/sigstore/fulcio github.com/sigstore/fulcio)
TSA_TOOL=(tsa github.com/sigstore/timestamp-authority/v2
	github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server)
COSIGN_TOOL=(cosign github.com/sigstore/cosign/v2 github.com/sigstore/cosign/v2/cmd/cosign)
COSIGN3_TOOL=(cosign3 github.com/sigstore/cosign/v3 github.com/sigstore/cosign/v3/cmd/cosign)
CTLOG_TOOL=(ctlog github.com/transparency-dev/tesseract github.com/transparency-dev/tesseract/cmd/tesseract/posix)
REKOR_TOOL=(rekor github.com/sigstore/rekor-tiles/v2 github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix)
# BuildKit's SBOM generator: hack/tools/sbom-scanner's own program (syft as a library), static.
SBOM_SCANNER_TOOL=(sbom-scanner github.com/anchore/syft github.com/hallmark-dev/hallmark/hack/tools/sbom-scanner)
SBOM_SCANNER_REPO=hallmark/buildkit-syft-scanner
# Tools no service needs, built on demand by `tool NAME`.
BUILDX_TOOL=(buildx github.com/docker/buildx github.com/docker/buildx/cmd/buildx)

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
	printf 'testbed: error: %s\n' "$*" >&2
	exit 1
}

# --- installing ------------------------------------------------------------------------------

APT_UPDATED=
# apt_ensure PACKAGE:FILE...: install the packages whose FILE is missing.
apt_ensure() {
	local missing=() p
	for p in "$@"; do [[ -e ${p#*:} ]] || missing+=("${p%%:*}"); done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]} (apt)"
	if [[ -z $APT_UPDATED ]]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		APT_UPDATED=1
	fi
	# No package may start its own service (docker-registry's would listen on *:5000).
	local policy=''
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		{ [[ -z $policy ]] || rm -f "$policy"; die "apt-get install ${missing[*]} failed"; }
	[[ -z $policy ]] || rm -f "$policy"
}

# file_sums FILE...: sha256 of each file into FILE_SUMS, in one sha256sum run (process starts
# are what makes a warm `up` slow on a busy machine).
declare -A FILE_SUMS=()
file_sums() {
	local sum file
	while read -r sum file; do FILE_SUMS[$file]=$sum; done < <(sha256sum "$@")
}

# key FILE...: a short key of the files' contents (FILE_SUMS filled by file_sums).
key() {
	local f k=''
	for f in "$@"; do
		[[ -n ${FILE_SUMS[$f]:-} ]] || file_sums "$f"
		k+=${FILE_SUMS[$f]:0:6}
	done
	printf '%s' "$k"
}

# tool_dir NAME MODULE: the cache dir of a tools module's binaries, keyed by the pinned version
# and the contents of go.mod, go.sum and the module's own sources other than tools.go (a version,
# dependency or source change rebuilds). Sets TOOL_DIR.
declare -A TOOL_DIRS=()
tool_dir() {
	local name=$1 module=$2 dir=$REPO/hack/tools/$1 version='' w1 w2 w3 f sources=()
	if [[ -z ${TOOL_DIRS[$name]:-} ]]; then
		while read -r w1 w2 w3 _; do
			[[ $w1 == "$module" ]] && version=$w2 && break
			[[ $w1 == require && $w2 == "$module" ]] && version=$w3 && break
		done <"$dir/go.mod"
		[[ -n $version ]] || die "hack/tools/$name/go.mod does not require $module"
		for f in "$dir"/*.go; do [[ ${f##*/} == tools.go ]] || sources+=("$f"); done
		TOOL_DIRS[$name]=$CACHE/tools/$name-$version-$(key "$dir/go.mod" "$dir/go.sum" ${sources[@]+"${sources[@]}"})
	fi
	TOOL_DIR=${TOOL_DIRS[$name]}
}

# build_tool NAME MODULE PACKAGE...: go build the packages of hack/tools/NAME into tool_dir,
# unless already there. One build at a time (the machine has 2 cores).
build_tool() {
	local name=$1 module=$2
	shift 2
	local out bin absent=0 start
	tool_dir "$name" "$module"
	out=$TOOL_DIR
	for bin in "$@"; do [[ -x $out/${bin##*/} ]] || absent=1; done
	((absent)) || return 0
	mkdir -p "$CACHE/tools"
	log "building $name ($(basename "$out")); takes minutes on a cold cache"
	start=$SECONDS
	rm -rf "$out.tmp"
	(cd "$REPO/hack/tools/$name" && [[ $(go env GOMOD) == "$PWD/go.mod" ]] &&
		GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -o "$out.tmp/" "$@") >&2 ||
		die "building $name failed"
	mv "$out.tmp" "$out"
	log "built $name in $((SECONDS - start))s"
}

# build_program NAME: go build ./hack/NAME (root module) into the cache, keyed by a hash of its
# sources, the packages hack programs share (hack/internal) and the root go.mod/go.sum. Prints the
# binary's path.
build_program() {
	local name=$1 sum out start
	sum=$(key "$REPO"/hack/"$name"/*.go "$REPO"/hack/internal/*/*.go "$REPO/go.mod" "$REPO/go.sum")
	out=$CACHE/hack/$name-$sum/$name
	if [[ ! -x $out ]]; then
		log "building hack/$name"
		start=$SECONDS
		mkdir -p "$(dirname "$out")"
		(cd "$REPO" && GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -o "$out.tmp" "./hack/$name") >&2 ||
			die "building hack/$name failed"
		mv "$out.tmp" "$out"
		find "$CACHE/hack" -maxdepth 1 -name "$name-*" ! -name "$name-$sum" -exec rm -rf {} + 2>/dev/null || true
		log "built hack/$name in $((SECONDS - start))s"
	fi
	printf '%s\n' "$out"
}

install_build() {
	apt_ensure runc:/usr/sbin/runc busybox-static:/bin/busybox docker-registry:/usr/bin/docker-registry \
		rootlesskit:/usr/bin/rootlesskit uidmap:/usr/bin/newuidmap openssl:/usr/bin/openssl curl:/usr/bin/curl
	build_tool "${BUILDKIT_TOOL[@]}"
	REGISTRY_BIN=$(build_program registry)
}

install_sign() {
	apt_ensure openssl:/usr/bin/openssl curl:/usr/bin/curl
	build_tool "${FULCIO_TOOL[@]}"
	build_tool "${TSA_TOOL[@]}"
	build_tool "${COSIGN_TOOL[@]}"
	build_tool "${CTLOG_TOOL[@]}"
	build_tool "${REKOR_TOOL[@]}"
	build_tool "${COSIGN3_TOOL[@]}"
	OIDC_BIN=$(build_program oidc)
	TRUSTEDROOT_BIN=$(build_program trustedroot)
	REKORFRONT_BIN=$(build_program rekorfront)
}

# ensure_sbom_scanner: BuildKit's SBOM generator image in registry-plain (kept on disk across
# restarts), REPO:VERSION-KEY of the binary, pushed when the registry does not hold it; its
# reference (REPO:TAG@DIGEST) in $STATE/sbom-scanner.ref. The binary is static (CGO_ENABLED=0):
# the image holds nothing else (hack/entrypointimage).
ensure_sbom_scanner() {
	local ref pinned='' bin
	CGO_ENABLED=0 build_tool "${SBOM_SCANNER_TOOL[@]}"
	ref=127.0.0.1:$PORT_REGISTRY_PLAIN/$SBOM_SCANNER_REPO:${TOOL_DIR##*/sbom-scanner-}
	[[ -s $STATE/sbom-scanner.ref ]] && pinned=$(<"$STATE/sbom-scanner.ref")
	if [[ $pinned == "$ref@sha256:"* ]] && curl -fsS -o /dev/null --max-time 5 -I \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://127.0.0.1:$PORT_REGISTRY_PLAIN/v2/$SBOM_SCANNER_REPO/manifests/${pinned##*@}"; then
		return 0
	fi
	bin=$(build_program entrypointimage)
	log "pushing the SBOM generator image $ref"
	"$bin" -binary "$TOOL_DIR/sbom-scanner" -ref "$ref" >"$STATE/sbom-scanner.ref.tmp" ||
		die "pushing the SBOM generator image $ref failed"
	mv "$STATE/sbom-scanner.ref.tmp" "$STATE/sbom-scanner.ref"
}

# --- certificates ----------------------------------------------------------------------------

# ensure_certs: a CA, a server certificate (IP 127.0.0.1, DNS buildkitd and localhost) and a
# client certificate, made once and kept (remade when missing or within a day of expiry).
ensure_certs() {
	local f ok=1 renew=0
	for f in ca server client; do [[ -s $TLS/$f.crt && -s $TLS/$f.key ]] || ok=0; done
	[[ -s $TLS/renew-after ]] && read -r renew <"$TLS/renew-after"
	((ok && EPOCHSECONDS < renew)) && return 0
	log "generating TLS certificates in $TLS"
	CERTS_RENEWED=1
	mkdir -p "$TLS"
	(
		cd "$TLS"
		umask 077
		rm -f ./*.crt ./*.key ./*.csr
		for f in ca server client; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$f.key"; done
		openssl req -x509 -new -key ca.key -subj "/CN=hallmark testbed CA" -days 3650 -out ca.crt \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		sign_cert server "/CN=buildkitd" \
			"subjectAltName=IP:127.0.0.1,DNS:buildkitd,DNS:localhost"$'\n'"extendedKeyUsage=serverAuth"
		sign_cert client "/CN=hallmark-test-client" "extendedKeyUsage=clientAuth"
		rm -f ./*.csr
		chmod 0644 ./*.crt
		echo $((EPOCHSECONDS + 800 * 86400)) >renew-after
	) >/dev/null 2>"$STATE/logs/certs.log" || {
		tail -n 20 "$STATE/logs/certs.log" >&2
		die "generating certificates failed"
	}
}

sign_cert() { # NAME SUBJECT EXTENSIONS (runs in $TLS)
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
		-days 825 -out "$1.crt" \
		-extfile <(printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' "$3")
}

# --- processes -------------------------------------------------------------------------------

pidfile() { printf '%s/run/%s.pid' "$STATE" "$1"; }

# starttime PID: the process start time in clock ticks, to tell a recorded PID from a reused
# one; empty when PID is gone or a zombie (an exited child of this script).
starttime() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	[[ $1 == [ZX] ]] || printf '%s' "${20}"
}

# alive NAME: the process recorded for NAME runs (same PID and start time).
alive() {
	local f pid st
	f=$(pidfile "$1")
	[[ -s $f ]] || return 1
	read -r pid st <"$f" || return 1
	[[ -n $pid && -n $st && $(starttime "$pid") == "$st" ]]
}

pid_of() { read -r pid _ <"$(pidfile "$1")" && printf '%s' "$pid"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports_open() {
	local p
	for p in "$@"; do port_open "$p" || return 1; done
}

# require_ports NAME PORT...: fail if a port is taken (NAME is not running, so not by us).
require_ports() {
	local name=$1 port who
	shift
	for port in "$@"; do
		if port_open "$port"; then
			who=$(ss -Hltnp "sport = :$port" 2>/dev/null | awk '{print $4, $6}' | head -n 1)
			die "port $port, needed by $name, is in use by something this test bed did not start: ${who:-unknown process}"
		fi
	done
}

# spawn NAME COMMAND...: start COMMAND in its own session, log to STATE/logs/NAME.log and
# record "PID STARTTIME" in STATE/run/NAME.pid.
spawn() {
	local name=$1 f pid
	shift
	f=$(pidfile "$name")
	rm -f "$f" "$f.tmp"
	printf '\n=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$STATE/logs/$name.log"
	# shellcheck disable=SC2016 # $$ and $@ expand in the inner shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$f.tmp" "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null 9>&- &
	for _ in $(seq 100); do [[ -s $f.tmp ]] && break; sleep 0.01; done
	pid=$(<"$f.tmp")
	printf '%s %s\n' "$pid" "$(starttime "$pid")" >"$f"
	rm -f "$f.tmp"
}

fail_start() { # NAME REASON
	log "error: $1 $2; last lines of $STATE/logs/$1.log:"
	tail -n 25 "$STATE/logs/$1.log" >&2
	stop "$1"
	exit 1
}

# wait_ready NAME SECONDS: poll ready_NAME until it passes, the process dies or time runs out.
wait_ready() {
	local name=$1 deadline=$((SECONDS + $2))
	until "ready_${name//-/_}" >/dev/null 2>&1; do
		alive "$name" || fail_start "$name" "exited during start"
		((SECONDS < deadline)) || fail_start "$name" "not ready after $2s"
		sleep 0.05
	done
}

# sockets_present NAME: the unix sockets NAME listens on exist.
sockets_present() {
	case $1 in
	buildkitd) [[ -S $BUILDKIT_SOCK ]] ;;
	buildkitd-rootless) [[ -S $ROOTLESS_SOCK ]] ;;
	buildkitd-pool) [[ -S $POOL_SOCK ]] ;;
	esac
}

# ensure NAME: start NAME unless it runs and answers.
ensure() {
	local name=$1 fn=${1//-/_}
	if [[ -n $CERTS_RENEWED && " $TLS_SERVICES " == *" $name "* ]] && alive "$name"; then
		log "restarting $name for the new certificates"
		stop "$name"
	fi
	# stale_NAME (optional): it runs, but with what no longer holds (sets STALE_REASON).
	if declare -F "stale_$fn" >/dev/null && alive "$name" && "stale_$fn"; then
		log "restarting $name: $STALE_REASON"
		stop "$name"
	fi
	if alive "$name"; then
		# It answered when started: open ports are enough now (keeps a warm `up` fast).
		# shellcheck disable=SC2046
		if ports_open $("ports_$fn") && sockets_present "$name"; then
			return 0
		fi
		log "$name (pid $(pid_of "$name")) runs but does not answer yet; waiting"
		wait_ready "$name" 30
		return 0
	fi
	# shellcheck disable=SC2046
	require_ports "$name" $("ports_$fn")
	log "starting $name"
	"start_$fn"
	wait_ready "$name" 60
	log "$name up (pid $(pid_of "$name"))"
}

stop() { # NAME
	local name=$1 pid
	if alive "$name"; then
		pid=$(pid_of "$name")
		log "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do alive "$name" || break; sleep 0.1; done
		if alive "$name"; then
			log "$name did not stop in 10s; killing"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$(pidfile "$name")"
}

# --- services --------------------------------------------------------------------------------

ports_buildkitd() { echo "$PORT_BUILDKIT"; }
start_buildkitd() {
	rm -f "$BUILDKIT_SOCK"
	mkdir -p "$STATE/buildkit"
	: >"$STATE/buildkitd.toml" # so that /etc/buildkit/buildkitd.toml does not apply
	spawn buildkitd "$BUILDKIT_BIN/buildkitd" --config "$STATE/buildkitd.toml" \
		--root "$STATE/buildkit" \
		--addr "unix://$BUILDKIT_SOCK" --addr "tcp://127.0.0.1:$PORT_BUILDKIT" \
		--tlscacert "$TLS/ca.crt" --tlscert "$TLS/server.crt" --tlskey "$TLS/server.key" \
		--oci-worker=true --oci-worker-binary "$(command -v runc)" --containerd-worker=false
}
ready_buildkitd() {
	"$BUILDKIT_BIN/buildctl" --addr "unix://$BUILDKIT_SOCK" debug workers | grep -q linux/amd64 &&
		port_open "$PORT_BUILDKIT"
}

ports_buildkitd_pool() { echo "$PORT_BUILDKIT_POOL"; }
start_buildkitd_pool() {
	rm -f "$POOL_SOCK"
	mkdir -p "$STATE/buildkit-pool"
	: >"$STATE/buildkitd-pool.toml"
	local p platform_flags=()
	for p in "${POOL_PLATFORMS[@]}"; do platform_flags+=(--oci-worker-platform "$p"); done
	spawn buildkitd-pool "$BUILDKIT_BIN/buildkitd" --config "$STATE/buildkitd-pool.toml" \
		--root "$STATE/buildkit-pool" \
		--addr "unix://$POOL_SOCK" --addr "tcp://127.0.0.1:$PORT_BUILDKIT_POOL" \
		--tlscacert "$TLS/ca.crt" --tlscert "$TLS/server.crt" --tlskey "$TLS/server.key" \
		--oci-worker=true --oci-worker-binary "$(command -v runc)" --containerd-worker=false \
		"${platform_flags[@]}"
}
ready_buildkitd_pool() {
	"$BUILDKIT_BIN/buildctl" --addr "unix://$POOL_SOCK" debug workers | grep -q "${POOL_PLATFORMS[0]}" &&
		port_open "$PORT_BUILDKIT_POOL"
}

# buildkitd-rootless: the unprivileged user, with subordinate ids, runs rootlesskit (user and
# mount namespaces, host network) and buildkitd inside it with the native snapshotter. setpriv
# and env exec, so the PID recorded is rootlesskit's, which passes SIGTERM on to buildkitd.
ports_buildkitd_rootless() { :; }
start_buildkitd_rootless() {
	ensure_rootless_user
	local uid gid home
	uid=$(id -u "$ROOTLESS_USER") gid=$(id -g "$ROOTLESS_USER")
	home=$(getent passwd "$ROOTLESS_USER" | cut -d: -f6)
	# STATE must be traversable by the user; the runtime dir is its own, 0700.
	[[ $(stat -c %A "$STATE") == ?????????x ]] || die "$STATE is not traversable by others (mode $(stat -c %a "$STATE")): the rootless user needs it"
	install -d -m 0755 -o "$uid" -g "$gid" "$ROOTLESS_DIR"
	install -d -m 0700 -o "$uid" -g "$gid" "$ROOTLESS_RUNTIME_DIR" "$ROOTLESS_DIR/buildkit"
	rm -f "$ROOTLESS_SOCK"
	install -m 0644 -o "$uid" -g "$gid" /dev/null "$ROOTLESS_DIR/buildkitd.toml"
	spawn buildkitd-rootless setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i HOME="$home" USER="$ROOTLESS_USER" LOGNAME="$ROOTLESS_USER" \
		PATH="$BUILDKIT_BIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" XDG_RUNTIME_DIR="$ROOTLESS_RUNTIME_DIR" \
		rootlesskit --net=host --copy-up=/etc --copy-up=/run --disable-host-loopback \
		--state-dir "$ROOTLESS_RUNTIME_DIR/rootlesskit" \
		"$BUILDKIT_BIN/buildkitd" --config "$ROOTLESS_DIR/buildkitd.toml" --root "$ROOTLESS_DIR/buildkit" \
		--addr "unix://$ROOTLESS_SOCK" --oci-worker-snapshotter=native \
		--oci-worker-binary "$(command -v runc)" --containerd-worker=false
}
ready_buildkitd_rootless() {
	"$BUILDKIT_BIN/buildctl" --addr "unix://$ROOTLESS_SOCK" debug workers | grep -q linux/amd64
}

# ensure_rootless_user: ROOTLESS_USER exists and has subordinate uid and gid ranges.
ensure_rootless_user() {
	if ! id -u "$ROOTLESS_USER" >/dev/null 2>&1; then
		log "creating user $ROOTLESS_USER for rootless buildkitd"
		useradd -m -s /bin/bash -c "hallmark test bed, rootless buildkitd" "$ROOTLESS_USER" >&2 ||
			die "useradd $ROOTLESS_USER failed"
	fi
	local f opt start
	for f in subuid subgid; do
		grep -q "^$ROOTLESS_USER:" "/etc/$f" 2>/dev/null && continue
		opt=--add-${f}s
		log "adding a /etc/$f range for $ROOTLESS_USER"
		# A free range above every existing one (useradd adds one only when /etc/$f existed).
		start=$(awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }' "/etc/$f" 2>/dev/null || echo 100000)
		usermod "$opt" "$start-$((start + 65535))" "$ROOTLESS_USER" >&2 || die "usermod $opt failed"
	done
}

ports_registry_plain() { echo "$PORT_REGISTRY_PLAIN"; }
start_registry_plain() {
	# Start empty, like the in-memory one: signatures left from an earlier Fulcio/TSA (new keys
	# on every start) would otherwise sit beside new ones.
	rm -rf "$STATE/registry-plain"
	mkdir -p "$STATE/registry-plain"
	cat >"$STATE/registry-plain.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $STATE/registry-plain
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$PORT_REGISTRY_PLAIN
EOF
	spawn registry-plain docker-registry serve "$STATE/registry-plain.yml"
}
ready_registry_plain() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT_REGISTRY_PLAIN/v2/"; }

ports_registry_referrers() { echo "$PORT_REGISTRY_REFERRERS"; }
start_registry_referrers() { spawn registry-referrers "$REGISTRY_BIN" -addr "127.0.0.1:$PORT_REGISTRY_REFERRERS"; }
ready_registry_referrers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT_REGISTRY_REFERRERS/v2/"; }

ports_oidc() { echo "$PORT_OIDC $PORT_OIDC_MINT"; }
start_oidc() {
	mkdir -p "$STATE/oidc"
	spawn oidc "$OIDC_BIN" -addr "127.0.0.1:$PORT_OIDC" -mint-addr "127.0.0.1:$PORT_OIDC_MINT" \
		-issuer "$OIDC_ISSUER" -tls-cert "$TLS/server.crt" -tls-key "$TLS/server.key" \
		-key "$STATE/oidc/signing-key.pem"
}
ready_oidc() {
	curl -fsS -o /dev/null --max-time 2 --cacert "$TLS/ca.crt" "$OIDC_ISSUER/.well-known/openid-configuration" &&
		curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT_OIDC_MINT/healthz"
}

ports_fulcio() { echo "$PORT_FULCIO $PORT_FULCIO_GRPC $PORT_FULCIO_METRICS"; }
start_fulcio() {
	tool_dir "${FULCIO_TOOL[@]:0:2}"
	local tools=$TOOL_DIR
	mkdir -p "$STATE/fulcio"
	rm -f "$STATE/fulcio/fulcio.sock"
	write_fulcio_config >"$STATE/fulcio/config.yaml"
	# Fulcio calls the CT log only when issuing; certificates then embed its SCT.
	spawn fulcio "$tools/fulcio" serve --ca ephemeralca --ct-log-url "$CTLOG_URL" \
		--config-path "$STATE/fulcio/config.yaml" \
		--host 127.0.0.1 --port "$PORT_FULCIO" \
		--grpc-host 127.0.0.1 --grpc-port "$PORT_FULCIO_GRPC" --metrics-port "$PORT_FULCIO_METRICS" \
		--legacy-unix-domain-socket "$STATE/fulcio/fulcio.sock"
}
ready_fulcio() { curl -fsS -o /dev/null --max-time 2 "$FULCIO_URL/api/v1/rootCert"; }
# stale_fulcio: started without this CT log (by an older testbed.sh, with --ct-log-url "").
stale_fulcio() {
	STALE_REASON="it was started without --ct-log-url $CTLOG_URL"
	started_without fulcio "--ct-log-url $CTLOG_URL"
}

# started_without NAME ARGS: NAME's command line lacks ARGS (words separated by single spaces);
# false when it cannot be read.
started_without() {
	local pid args=()
	pid=$(pid_of "$1")
	mapfile -t -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
	[[ " ${args[*]} " != *" $2 "* ]]
}

# write_fulcio_config: the issuer as a GitLab instance, with Fulcio's own gitlab-pipeline
# templates (from fulcio v1.8.8 config/identity/config.yaml) and url = the issuer.
write_fulcio_config() {
	cat <<EOF
oidc-issuers:
  $OIDC_ISSUER:
    issuer-url: $OIDC_ISSUER
    client-id: sigstore
    type: ci-provider
    ci-provider: gitlab-pipeline
    description: hallmark test bed GitLab-shaped issuer
    ca-cert: |
$(sed 's/^/      /' "$TLS/ca.crt")
ci-issuer-metadata:
  gitlab-pipeline:
    default-template-values:
      url: $OIDC_ISSUER
      environment: ""
    extension-templates:
      build-signer-uri: "https://{{ .ci_config_ref_uri }}"
      build-signer-digest: "ci_config_sha"
      runner-environment: "runner_environment"
      source-repository-uri: "{{ .url }}/{{ .project_path }}"
      source-repository-digest: "sha"
      source-repository-ref: refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}
      source-repository-identifier: "project_id"
      source-repository-owner-uri: "{{ .url }}/{{ .namespace_path }}"
      source-repository-owner-identifier: "namespace_id"
      build-config-uri: "https://{{ .ci_config_ref_uri }}"
      build-config-digest: "ci_config_sha"
      build-trigger: "pipeline_source"
      run-invocation-uri: "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}"
      source-repository-visibility-at-signing: "project_visibility"
      deployment-environment: "environment"
    subject-alternative-name-template: "https://{{ .ci_config_ref_uri }}"
EOF
}

# ctlog: TesseraCT (static CT API, POSIX storage) with a key kept in STATE, accepting chains to
# Fulcio's root. Fulcio's CA is new on every start: stale_ctlog restarts the log after Fulcio.
ports_ctlog() { echo "$PORT_CTLOG"; }
start_ctlog() {
	tool_dir "${CTLOG_TOOL[@]:0:2}"
	local tools=$TOOL_DIR
	mkdir -p "$STATE/ctlog/storage"
	ensure_log_key "$STATE/ctlog"
	curl -fsS --max-time 5 "$FULCIO_URL/api/v1/rootCert" >"$STATE/ctlog/roots.pem" ||
		die "fetching Fulcio's root for the CT log failed (is fulcio up?)"
	# OTEL_METRIC_EXPORT_INTERVAL: it pushes metrics to an OTLP collector (none here) once a day,
	# not every minute. --enable_publication_awaiter=false: answer with the SCT once the entry is
	# sequenced (an SCT is a promise to integrate). Waiting for integration goes through Tessera
	# v1.0.1's PublicationAwaiter, which hands one canceled request's "context canceled" to every
	# submission waiting with it: a client giving up on a certificate failed others' ("Error
	# entering certificate in CTL").
	spawn ctlog env OTEL_METRIC_EXPORT_INTERVAL=86400000 "$tools/posix" \
		--private_key="$STATE/ctlog/key.pem" --origin="$CTLOG_ORIGIN" \
		--storage_dir="$STATE/ctlog/storage" --roots_pem_file="$STATE/ctlog/roots.pem" \
		--http_endpoint="127.0.0.1:$PORT_CTLOG" --checkpoint_interval=200ms --batch_max_age=50ms \
		--enable_publication_awaiter=false
}
ready_ctlog() { curl -fsS -o /dev/null --max-time 2 "$CTLOG_URL/ct/v1/get-roots"; }
# stale_ctlog: Fulcio (re)started after the log, so the log's roots are an old CA's.
stale_ctlog() {
	STALE_REASON="fulcio restarted since (new CA)"
	[[ $(pidfile fulcio) -nt $(pidfile ctlog) ]]
}

# ensure_log_key DIR: an ECDSA P-256 key (DIR/key.pem, SEC1, which both logs read), its public
# key (DIR/key.pub) and its creation time (DIR/start-time, the log's validity start in the
# trusted root), made once and kept: the logs' identities survive restarts.
ensure_log_key() {
	local dir=$1
	[[ -s $dir/key.pem && -s $dir/key.pub && -s $dir/start-time ]] && return 0
	log "generating a signing key in $dir"
	mkdir -p "$dir"
	if ! (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem.tmp" &&
		openssl ec -in "$dir/key.pem.tmp" -pubout -out "$dir/key.pub") 2>>"$STATE/logs/certs.log"; then
		die "generating a key in $dir failed (see $STATE/logs/certs.log)"
	fi
	date -u +%FT%TZ >"$dir/start-time"
	mv "$dir/key.pem.tmp" "$dir/key.pem"
}

ports_tsa() { echo "$PORT_TSA $PORT_TSA_METRICS"; }
start_tsa() {
	tool_dir "${TSA_TOOL[@]:0:2}"
	local tools=$TOOL_DIR
	spawn tsa "$tools/timestamp-server" serve --host 127.0.0.1 --port "$PORT_TSA" \
		--timestamp-signer memory --disable-ntp-monitoring
}
ready_tsa() { curl -fsS -o /dev/null --max-time 2 "$TSA_URL/certchain"; }

# rekor: Rekor v2 (rekor-tiles, POSIX storage) with a key kept in STATE. Entries are sequenced
# within 50 ms and checkpoints published every 200 ms (a signer waits for its inclusion proof).
# Its HTTP port is the write API only: rekor-front serves it with the tiles at REKOR_URL.
ports_rekor() { echo "$PORT_REKOR_API $PORT_REKOR_GRPC $PORT_REKOR_METRICS"; }
start_rekor() {
	tool_dir "${REKOR_TOOL[@]:0:2}"
	local tools=$TOOL_DIR
	mkdir -p "$STATE/rekor/storage"
	ensure_log_key "$STATE/rekor"
	spawn rekor "$tools/posix" serve --storage-dir "$STATE/rekor/storage" \
		--signer-filepath "$STATE/rekor/key.pem" --hostname "$REKOR_ORIGIN" \
		--http-address 127.0.0.1 --http-port "$PORT_REKOR_API" --grpc-address 127.0.0.1 --grpc-port "$PORT_REKOR_GRPC" \
		--http-metrics-port "$PORT_REKOR_METRICS" --checkpoint-interval 200ms --batch-max-age 50ms
}
ready_rekor() { curl -fsS -o /dev/null --max-time 2 "$REKOR_API_URL/healthz"; }
# stale_rekor: started by an older testbed.sh on REKOR_URL's port, which rekor-front now takes.
stale_rekor() {
	STALE_REASON="it was started with another --http-port than $PORT_REKOR_API (rekor-front serves $REKOR_URL)"
	started_without rekor "--http-port $PORT_REKOR_API"
}

# rekor-front: Rekor v2 at REKOR_URL as Sigstore's public-good logs serve it (hack/rekorfront):
# the tlog-tiles read API (GET /checkpoint, /tile/...) from rekor's storage directory, everything
# else (POST /api/v2/log/entries, /healthz) passed on to rekor-server, whose POSIX build serves no
# reads (GET /api/v2/checkpoint is 501 there).
ports_rekor_front() { echo "$PORT_REKOR"; }
start_rekor_front() {
	spawn rekor-front "$REKORFRONT_BIN" -addr "127.0.0.1:$PORT_REKOR" -api "$REKOR_API_URL" \
		-storage "$STATE/rekor/storage"
}
ready_rekor_front() {
	curl -fsS -o /dev/null --max-time 2 "$REKOR_URL/healthz" &&
		curl -fsS -o /dev/null --max-time 2 "$REKOR_URL/checkpoint"
}

# ensure_trusted_root: fetch the Fulcio and TSA chains (both change on every restart) and
# rewrite trusted_root.json when either changed since it was written.
ensure_trusted_root() {
	local f
	if [[ $STATE/trusted_root.json -nt $(pidfile fulcio) && $STATE/trusted_root.json -nt $(pidfile tsa) ]]; then
		return 0 # written after both started: their chains have not changed since
	fi
	curl -fsS --max-time 5 "$FULCIO_URL/api/v1/rootCert" >"$STATE/fulcio-chain.pem.new" ||
		die "fetching Fulcio's chain failed"
	curl -fsS --max-time 5 "$TSA_URL/certchain" >"$STATE/tsa-chain.pem.new" ||
		die "fetching the TSA's chain failed"
	local changed=0
	for f in fulcio-chain.pem tsa-chain.pem; do
		if cmp -s "$STATE/$f.new" "$STATE/$f"; then
			rm -f "$STATE/$f.new"
		else
			mv "$STATE/$f.new" "$STATE/$f"
			changed=1
		fi
	done
	[[ -s $STATE/trusted_root.json ]] || changed=1
	if ((!changed)); then
		touch "$STATE/trusted_root.json"
		return 0
	fi
	log "writing $STATE/trusted_root.json"
	"$TRUSTEDROOT_BIN" -fulcio-chain "$STATE/fulcio-chain.pem" -fulcio-url "$FULCIO_URL" \
		-tsa-chain "$STATE/tsa-chain.pem" -tsa-url "$TSA_URL" -out "$STATE/trusted_root.json" ||
		die "writing trusted_root.json failed"
}

# ensure_sigstore_files: the instance's trusted root (Fulcio, CT log, Rekor v2, TSA) and signing
# config (Fulcio, Rekor v2, TSA), written by cosign v3 whenever a chain or key changed since
# (ensure_trusted_root renews the chain files, ensure_log_key the keys).
ensure_sigstore_files() {
	local tr=$SIGSTORE_DIR/trusted_root.json sc=$SIGSTORE_DIR/signing_config.json f stale=0
	local inputs=("$STATE/fulcio-chain.pem" "$STATE/tsa-chain.pem" "$STATE/ctlog/key.pub" "$STATE/rekor/key.pub")
	for f in "${inputs[@]}"; do [[ $f -nt $tr || $f -nt $sc ]] && stale=1; done
	((stale)) || return 0
	log "writing $tr and $sc"
	tool_dir "${COSIGN3_TOOL[@]:0:2}"
	local cosign=$TOOL_DIR/cosign ctlog_start rekor_start since=2020-01-01T00:00:00Z
	read -r ctlog_start <"$STATE/ctlog/start-time"
	read -r rekor_start <"$STATE/rekor/start-time"
	mkdir -p "$SIGSTORE_DIR"
	# TUF_ROOT: cosign must not look for (or fetch) the public-good TUF repository.
	if ! (
		export TUF_ROOT=$SIGSTORE_DIR/tuf
		"$cosign" trusted-root create \
			--no-default-fulcio --no-default-ctfe --no-default-rekor --no-default-tsa \
			--fulcio="url=$FULCIO_URL,certificate-chain=$STATE/fulcio-chain.pem" \
			--ctfe="url=$CTLOG_URL,public-key=$STATE/ctlog/key.pub,start-time=$ctlog_start" \
			--rekor="url=$REKOR_URL,public-key=$STATE/rekor/key.pub,start-time=$rekor_start,origin=$REKOR_ORIGIN" \
			--tsa="url=$TSA_URL,certificate-chain=$STATE/tsa-chain.pem" \
			--out "$tr.tmp" &&
			"$cosign" signing-config create \
				--fulcio="url=$FULCIO_URL,api-version=1,start-time=$since,operator=hallmark-testbed" \
				--rekor="url=$REKOR_URL,api-version=2,start-time=$since,operator=hallmark-testbed" --rekor-config=ANY \
				--tsa="url=$TSA_URL,api-version=1,start-time=$since,operator=hallmark-testbed" --tsa-config=EXACT:1 \
				--out "$sc.tmp"
	) >>"$STATE/logs/sigstore-files.log" 2>&1; then
		die "cosign could not write the trust files (see $STATE/logs/sigstore-files.log)"
	fi
	chmod 0644 "$tr.tmp" "$sc.tmp" # cosign writes 0600; this is public trust material
	mv "$tr.tmp" "$tr"
	mv "$sc.tmp" "$sc"
}

# --- commands --------------------------------------------------------------------------------

env_lines() {
	local line
	if alive buildkitd && alive registry-plain && alive registry-referrers; then
		for line in \
			HALLMARK_TESTBED=1 \
			"HALLMARK_TEST_BUILDKIT_UNIX=unix://$BUILDKIT_SOCK" \
			"HALLMARK_TEST_BUILDKIT_TCP=tcp://127.0.0.1:$PORT_BUILDKIT" \
			"HALLMARK_TEST_TLS_CA=$TLS/ca.crt" \
			"HALLMARK_TEST_TLS_CERT=$TLS/client.crt" \
			"HALLMARK_TEST_TLS_KEY=$TLS/client.key" \
			HALLMARK_TEST_TLS_SERVERNAME=buildkitd \
			"HALLMARK_TEST_REGISTRY_PLAIN=127.0.0.1:$PORT_REGISTRY_PLAIN" \
			"HALLMARK_TEST_REGISTRY_REFERRERS=127.0.0.1:$PORT_REGISTRY_REFERRERS" \
			"HALLMARK_TEST_BUILDCTL=$BUILDKIT_BIN/buildctl" \
			"HALLMARK_TEST_BUILDKITD=$BUILDKIT_BIN/buildkitd" \
			"HALLMARK_TEST_BUSYBOX=$BUSYBOX"; do
			printf 'export %s\n' "$line"
		done
		[[ ! -s $STATE/sbom-scanner.ref ]] ||
			printf 'export HALLMARK_TEST_SBOM_SCANNER=%s\n' "$(<"$STATE/sbom-scanner.ref")"
	fi
	if alive buildkitd-rootless; then
		for line in \
			"HALLMARK_TEST_ROOTLESS_USER=$ROOTLESS_USER" \
			"HALLMARK_TEST_ROOTLESS_RUNTIME_DIR=$ROOTLESS_RUNTIME_DIR" \
			"HALLMARK_TEST_BUILDKIT_ROOTLESS=unix://$ROOTLESS_SOCK"; do
			printf 'export %s\n' "$line"
		done
	fi
	if alive buildkitd-pool; then
		for line in \
			"HALLMARK_TEST_BUILDKIT_POOL=unix://$POOL_SOCK" \
			"HALLMARK_TEST_BUILDKIT_POOL_TCP=tcp://127.0.0.1:$PORT_BUILDKIT_POOL" \
			"HALLMARK_TEST_BUILDKIT_POOL_PLATFORMS=$(
				IFS=,
				echo "${POOL_PLATFORMS[*]}"
			)"; do
			printf 'export %s\n' "$line"
		done
	fi
	if alive oidc && alive fulcio && alive tsa && [[ -s $STATE/trusted_root.json ]]; then
		tool_dir "${COSIGN_TOOL[@]:0:2}"
		alive buildkitd || echo "export HALLMARK_TESTBED=1"
		for line in \
			"HALLMARK_TEST_OIDC_ISSUER=$OIDC_ISSUER" \
			"HALLMARK_TEST_OIDC_MINT=http://127.0.0.1:$PORT_OIDC_MINT/mint" \
			"HALLMARK_TEST_FULCIO_URL=$FULCIO_URL" \
			"HALLMARK_TEST_TSA_URL=$TSA_URL" \
			"HALLMARK_TEST_TRUSTED_ROOT=$STATE/trusted_root.json" \
			"HALLMARK_TEST_TSA_CHAIN=$STATE/tsa-chain.pem" \
			"HALLMARK_TEST_FULCIO_CHAIN=$STATE/fulcio-chain.pem" \
			"HALLMARK_TEST_COSIGN=$TOOL_DIR/cosign"; do
			printf 'export %s\n' "$line"
		done
		tool_dir "${COSIGN3_TOOL[@]:0:2}"
		printf 'export %s\n' "HALLMARK_TEST_COSIGN3=$TOOL_DIR/cosign"
		if alive ctlog && alive rekor && alive rekor-front && [[ -s $SIGSTORE_DIR/trusted_root.json && -s $SIGSTORE_DIR/signing_config.json ]]; then
			for line in \
				"HALLMARK_TEST_CTLOG_URL=$CTLOG_URL" \
				"HALLMARK_TEST_REKOR_URL=$REKOR_URL" \
				"HALLMARK_TEST_REKOR_API_URL=$REKOR_API_URL" \
				"HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT=$SIGSTORE_DIR/trusted_root.json" \
				"HALLMARK_TEST_SIGNING_CONFIG=$SIGSTORE_DIR/signing_config.json"; do
				printf 'export %s\n' "$line"
			done
		fi
	fi
}

# lock: one up or down at a time (fd 9, closed in spawned services).
lock() {
	exec 9>"$STATE/.lock"
	flock -w 600 9 || die "another testbed.sh up or down holds $STATE/.lock"
}

cmd_env() {
	mkdir -p "$STATE"
	env_lines | tee "$STATE/env.tmp"
	mv "$STATE/env.tmp" "$STATE/env"
}

cmd_up() {
	local want_build=0 want_sign=0 a services=()
	(($#)) || set -- all
	for a in "$@"; do
		case $a in
		all) want_build=1 want_sign=1 ;;
		build) want_build=1 ;;
		sign) want_sign=1 ;;
		*) die "unknown group $a (want build, sign or all)" ;;
		esac
	done
	mkdir -p "$STATE/logs" "$STATE/run"
	lock
	ensure_certs
	if ((want_build)); then
		install_build
		[[ -x $BUSYBOX ]] || die "$BUSYBOX missing (busybox-static)"
		services+=("${BUILD_SERVICES[@]}")
	fi
	if ((want_sign)); then
		install_sign
		services+=("${SIGN_SERVICES[@]}")
	fi
	for a in "${services[@]}"; do ensure "$a"; done
	((!want_build)) || ensure_sbom_scanner
	if ((want_sign)); then
		ensure_trusted_root
		ensure_sigstore_files
	fi
	cmd_env
}

cmd_down() {
	local i
	[[ -d $STATE/run ]] || return 0
	lock
	for ((i = ${#ALL_SERVICES[@]} - 1; i >= 0; i--)); do stop "${ALL_SERVICES[i]}"; done
	rm -f "$STATE/env"
}

# cmd_tool NAME: build the tool into the cache when missing (under the lock: one build at a time)
# and print the binary's path.
cmd_tool() {
	[[ ${1:-} == buildx ]] || die "unknown tool ${1:-} (want buildx)"
	mkdir -p "$STATE"
	lock
	build_tool "${BUILDX_TOOL[@]}"
	printf '%s/buildx\n' "$TOOL_DIR"
}

cmd_status() {
	local name state pid
	for name in "${ALL_SERVICES[@]}"; do
		pid=-
		if alive "$name"; then
			pid=$(pid_of "$name")
			if "ready_${name//-/_}" >/dev/null 2>&1; then state=up; else state=not-answering; fi
		else
			state=down
		fi
		if [[ $name == buildkitd-rootless ]]; then
			printf '%-20s %-14s pid %-8s socket %s (user %s)\n' "$name" "$state" "$pid" "$ROOTLESS_SOCK" "$ROOTLESS_USER"
		else
			printf '%-20s %-14s pid %-8s ports %s\n' "$name" "$state" "$pid" "$("ports_${name//-/_}")"
		fi
	done
}

file_sums "$REPO"/hack/tools/*/go.{mod,sum} "$REPO"/hack/{registry,oidc,trustedroot,entrypointimage,rekorfront,internal/*}/*.go \
	"$REPO"/hack/tools/sbom-scanner/*.go "$REPO"/go.{mod,sum}
# BUILDKIT_BIN is needed by ready_buildkitd in status and env without a build.
tool_dir "${BUILDKIT_TOOL[@]:0:2}"
BUILDKIT_BIN=$TOOL_DIR

case ${1:-} in
up) shift && cmd_up "$@" ;;
down) cmd_down ;;
env) cmd_env ;;
status) cmd_status ;;
tool) shift && cmd_tool "$@" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
