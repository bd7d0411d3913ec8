#!/usr/bin/env bash
# s3-peer.sh: a throwaway S3-compatible store (npm s3rver 3.7.1) for tests
# (docs/OPERATIONS.md "Backup to S3 and cross-region sync"). One instance per
# port stands in for one region.
#   scripts/s3-peer.sh install              npm install s3rver into .peers/ (once; needs the registry)
#   scripts/s3-peer.sh start DIR PORT REGION [--tls] [--object-lock] BUCKET...
#                     start on 127.0.0.1:PORT (data in DIR) as region REGION, wait for LISTEN;
#                     --tls: https with a certificate of DIR/ca.pem (made once per DIR);
#                     --object-lock: pretend Object Lock is enabled (see s3-peer.js)
#   scripts/s3-peer.sh stop DIR             kill the server's process group by its saved PID
#   scripts/s3-peer.sh free-port            print a free TCP port on 127.0.0.1
# Credentials are s3rver's fixed S3RVER / S3RVER. s3rver itself does not check
# V4 signatures: scripts/s3-peer.js puts an independent SigV4 check in front.
# Silent on success; on failure
# says why on stderr and exits non-zero (install: exit 3 when npm cannot fetch).
set -euo pipefail
VERSION=3.7.1
top=$(cd "$(dirname "$0")/.." && pwd)
# A read-only source tree (make distcheck) keeps s3rver in a per-user cache.
if [ -n "${PHIFS_PEERS_DIR:-}" ]; then PEERS=$PHIFS_PEERS_DIR
elif [ -w "$top" ] || [ -w "$top/.peers" ]; then PEERS=$top/.peers
else PEERS=/var/tmp/phifs-peers-$(id -u); fi
BIN=$PEERS/node_modules/.bin/s3rver

die() { echo "s3-peer: $*" >&2; exit "${2:-1}"; }
. "$(dirname "$0")/peer-lib.sh"

install() {
	[ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$PEERS/node_modules/s3rver/package.json" \
		2>/dev/null && return 0
	command -v npm >/dev/null || die "npm not installed (scripts/install-deps.sh)" 3
	mkdir -p "$PEERS"
	[ -f "$PEERS/package.json" ] || echo '{"private": true}' > "$PEERS/package.json"
	# flock: parallel tests must not run two npm installs into one folder
	(flock 9
	 [ -x "$BIN" ] || npm install --prefix "$PEERS" --no-audit --no-fund --silent \
		"s3rver@$VERSION" >"$PEERS/npm.log" 2>&1) 9>"$PEERS/.lock" \
		|| die "npm install s3rver@$VERSION failed; see $PEERS/npm.log" 3
	[ -x "$BIN" ] || die "s3rver missing after npm install" 3
}

# A throwaway CA and a server certificate for 127.0.0.1 (https tests).
certs() {
	local d=$1
	[ -s "$d/server.pem" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj "/CN=phifs test S3 CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
		-subj "/CN=127.0.0.1" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -out "$d/server.pem" -extfile "$d/server.ext" 2>/dev/null
	rm -f "$d/server.csr" "$d/server.ext"
}

start() {
	local d=$1 port=$2 region=$3 pid opts=()
	shift 3
	install
	mkdir -p "$d/data"
	d=$(cd "$d" && pwd)
	listening "$port" && die "port $port is already in use"
	if [ "${1:-}" = --tls ]; then
		shift
		certs "$d"
		opts=(--cert "$d/server.pem" --key "$d/server.key")
	fi
	if [ "${1:-}" = --object-lock ]; then
		shift
		opts+=(--object-lock on)
	fi
	[ $# -ge 1 ] || die "no bucket named"
	# Node 20: ListObjectsV2 continuation tokens need the legacy provider (PEERS.md)
	NODE_OPTIONS=--openssl-legacy-provider NODE_PATH="$PEERS/node_modules" setsid \
		node "$top/scripts/s3-peer.js" --dir "$d/data" --port "$port" --region "$region" \
		"${opts[@]}" "$@" </dev/null >>"$d/server.out" 2>&1 &
	pid=$!
	echo "$pid" > "$d/pid"
	peer_wait "$d" "$port" "$pid" 300
}

case "${1:-}" in
install) install ;;
start) [ $# -ge 5 ] || die "usage: $0 start DIR PORT REGION [--tls] [--object-lock] BUCKET..."; shift; start "$@" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; peer_stop "$2" ;;
free-port) peer_free_port ;;
*) die "usage: $0 install | start DIR PORT REGION [--tls] [--object-lock] BUCKET... | stop DIR | free-port" ;;
esac
