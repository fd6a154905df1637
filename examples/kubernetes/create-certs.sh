#!/usr/bin/env bash
# create-certs.sh OUT_DIR [SAN...]: the mutual-TLS certificates for runner-pod.yaml, with openssl.
#
#   examples/kubernetes/create-certs.sh .certs
#   kubectl apply -f .certs/buildkit-daemon-certs.yaml -f .certs/buildkit-client-certs.yaml
#
# SANs of buildkitd's certificate (default: buildkitd localhost 127.0.0.1): names become DNS:,
# addresses IP:; prefixed values (DNS:x, IP:y) are taken as they are. hallmark checks the name it
# dials (127.0.0.1 in the pod) or --tlsservername (buildkitd in runner-pod.yaml).
#
# OUT_DIR must not exist or be empty. It gets:
#   ca/ca.pem, ca/ca-key.pem     the CA; keep ca-key.pem offline (or delete it) once done
#   daemon/ca.pem cert.pem key.pem   buildkitd's side  -> Secret buildkit-daemon-certs
#   client/ca.pem cert.pem key.pem   hallmark's side   -> Secret buildkit-client-certs
#   buildkit-daemon-certs.yaml, buildkit-client-certs.yaml   the two Secrets (type Opaque)
# Keys are EC P-256. Settings: DAYS (certificate validity, default 365).
set -euo pipefail

die() {
	printf 'create-certs: error: %s\n' "$*" >&2
	exit 1
}

(($# >= 1)) || die "usage: $0 OUT_DIR [SAN...]"
command -v openssl >/dev/null || die "openssl not found"
OUT=$1
shift
(($#)) || set -- buildkitd localhost 127.0.0.1
DAYS=${DAYS:-365}
if [[ -e $OUT && -n $(ls -A "$OUT") ]]; then
	die "$OUT exists and is not empty; choose a new directory"
fi

sans=()
for s in "$@"; do
	case $s in
	DNS:* | IP:*) sans+=("$s") ;;
	*[!0-9.]* | "") if [[ $s == *:* ]]; then sans+=("IP:$s"); else sans+=("DNS:$s"); fi ;;
	*) sans+=("IP:$s") ;;
	esac
done
san_list=$(IFS=,; printf '%s' "${sans[*]}")

mkdir -p "$OUT/ca" "$OUT/daemon" "$OUT/client"
cd "$OUT"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT EXTENSIONS: a certificate for NAME/key.pem, signed by the CA.
sign() {
	printf '%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' "$3" >"$tmp/$1.ext"
	openssl req -new -key "$1/key.pem" -subj "$2" -out "$tmp/$1.csr"
	openssl x509 -req -in "$tmp/$1.csr" -CA ca/ca.pem -CAkey ca/ca-key.pem \
		-set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -extfile "$tmp/$1.ext" -out "$1/cert.pem" 2>/dev/null
	cp ca/ca.pem "$1/ca.pem"
}

key ca/ca-key.pem
openssl req -x509 -new -key ca/ca-key.pem -subj "/CN=hallmark buildkit CA" -days "$DAYS" -out ca/ca.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
key daemon/key.pem
sign daemon "/CN=buildkitd" "subjectAltName=$san_list"$'\n'"extendedKeyUsage=serverAuth"
key client/key.pem
sign client "/CN=hallmark" "extendedKeyUsage=clientAuth"
chmod 0644 ca/ca.pem daemon/ca.pem daemon/cert.pem client/ca.pem client/cert.pem

# secret NAME DIR: a Secret manifest holding DIR's three files under their names.
secret() {
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\ndata:\n' "$1"
	for f in ca.pem cert.pem key.pem; do
		printf '  %s: %s\n' "$f" "$(base64 <"$2/$f" | tr -d '\n')"
	done
}
secret buildkit-daemon-certs daemon >buildkit-daemon-certs.yaml
secret buildkit-client-certs client >buildkit-client-certs.yaml

printf 'create-certs: wrote %s (buildkitd SANs: %s)\n' "$PWD" "$san_list" >&2
