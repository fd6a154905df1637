#!/usr/bin/env bash
# hack/image-context.sh DIR: prepare the build context of hallmark's own image (the top-level
# Dockerfile). The binary is built here, with this machine's Go toolchain and module cache, so
# the image build itself needs no network and no base image:
#
#   hack/image-context.sh /tmp/hallmark-image
#   hallmark build -f Dockerfile --tag REGISTRY/REPO:TAG /tmp/hallmark-image
#   hallmark build -f Dockerfile --target debug --tag REGISTRY/REPO:TAG-debug /tmp/hallmark-image
#
# DIR gets (created if missing; the entries below are replaced, anything else is left alone):
#   bin/OS-ARCH[VARIANT]/hallmark   static binary per platform: CGO_ENABLED=0, -trimpath,
#                                   -ldflags "-s -w -X .../internal/version.Version=VERSION"
#   bin/OS-ARCH[VARIANT]/busybox    static busybox for the debug target (host platform only)
#   rootfs/                         etc/ssl/certs/ca-certificates.crt, etc/passwd, etc/group
#                                   (root, nonroot 65532), tmp (1777)
#   home/                           empty: becomes /home/nonroot, owned by 65532
#
# Settings (environment):
#   HALLMARK_VERSION    version stamped into the binary (default: git describe --tags --always
#                       --dirty, else "dev")
#   HALLMARK_PLATFORMS  comma-separated OS/ARCH[/VARIANT] (default: the host's GOOS/GOARCH);
#                       pass the same list to `hallmark build --platform`
#   HALLMARK_CA_BUNDLE  CA certificates to copy (default /etc/ssl/certs/ca-certificates.crt)
#   HALLMARK_BUSYBOX    static busybox for `--target debug` (default /bin/busybox when it is a
#                       static binary; empty: leave it out, and the debug target cannot build)
set -euo pipefail

die() {
	printf 'image-context: error: %s\n' "$*" >&2
	exit 1
}
log() { printf 'image-context: %s\n' "$*" >&2; }

(($# == 1)) || die "usage: $0 DIR"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

VERSION=${HALLMARK_VERSION:-$(git -C "$REPO" describe --tags --always --dirty 2>/dev/null || echo dev)}
[[ $VERSION =~ ^[A-Za-z0-9._+-]+$ ]] || die "HALLMARK_VERSION $VERSION: use letters, digits and . _ + - only"
HOST_PLATFORM=$(go env GOOS)/$(go env GOARCH)
PLATFORMS=${HALLMARK_PLATFORMS:-$HOST_PLATFORM}
CA_BUNDLE=${HALLMARK_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [[ -v HALLMARK_BUSYBOX ]]; then
	BUSYBOX=$HALLMARK_BUSYBOX
elif [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1; then
	BUSYBOX=/bin/busybox # ldd fails on static binaries: "not a dynamic executable"
else
	BUSYBOX=
fi
[[ -s $CA_BUNDLE ]] || die "CA bundle $CA_BUNDLE missing (apt-get install ca-certificates, or set HALLMARK_CA_BUNDLE)"

# build_binary OS/ARCH[/VARIANT]: the static hallmark binary for one platform.
build_binary() {
	local os arch variant goarm="" out
	IFS=/ read -r os arch variant <<<"$1"
	[[ -n $os && -n $arch ]] || die "platform $1: want OS/ARCH[/VARIANT]"
	if [[ $arch == arm && -n $variant ]]; then
		goarm=${variant#v}
	elif [[ -n $variant ]]; then
		die "platform $1: variants are supported for arm only"
	fi
	out=$DIR/bin/$os-$arch$variant
	mkdir -p "$out"
	log "building hallmark $VERSION for $1"
	(cd "$REPO" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=$goarm GOFLAGS=-mod=readonly \
		go build -trimpath -ldflags "-s -w -X github.com/hallmark-dev/hallmark/internal/version.Version=$VERSION" \
		-o "$out/hallmark.tmp" .) || die "building hallmark for $1 failed"
	mv "$out/hallmark.tmp" "$out/hallmark"
	if [[ $1 == "$HOST_PLATFORM" && -n $BUSYBOX ]]; then
		cp "$BUSYBOX" "$out/busybox"
		chmod 0755 "$out/busybox"
	fi
}

IFS=, read -r -a platforms <<<"$PLATFORMS"
for p in "${platforms[@]}"; do build_binary "$p"; done

rm -rf "${DIR:?}/rootfs" "${DIR:?}/home"
mkdir -p "$DIR/rootfs/etc/ssl/certs" "$DIR/rootfs/tmp" "$DIR/home"
cp "$CA_BUNDLE" "$DIR/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$DIR/rootfs/etc/ssl/certs/ca-certificates.crt"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
	>"$DIR/rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$DIR/rootfs/etc/group"
chmod 0644 "$DIR/rootfs/etc/passwd" "$DIR/rootfs/etc/group"
chmod 1777 "$DIR/rootfs/tmp"
log "context ready in $DIR (version $VERSION, platforms $PLATFORMS${BUSYBOX:+, busybox for the debug target})"
