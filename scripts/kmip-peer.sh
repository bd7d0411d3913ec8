#!/usr/bin/env bash
# kmip-peer.sh: a throwaway PyKMIP server for tests (docs/OPERATIONS.md "KMIP").
#   scripts/kmip-peer.sh start DIR PORT   certificates (once per DIR), config, start, wait for LISTEN
#   scripts/kmip-peer.sh stop DIR         kill the server's process group by its saved PID
#   scripts/kmip-peer.sh free-port        print a free TCP port on 127.0.0.1
#   scripts/kmip-peer.sh bench-uri DIR    start on a free port; print KMIP_URI=... and
#                                         PEER_STOP=... for `eval` (bench/kms.sh)
# DIR gets: ca.pem, server.pem/.key (SAN IP:127.0.0.1), client.pem/.key (clientAuth),
# rogue-ca.pem and rogue-client.pem/.key (a client of an untrusted CA), noeku-client.pem/.key
# (trusted CA, no extendedKeyUsage), pykmip.conf,
# pykmip.db (kept across restarts: the keys survive a stop/start), pykmip.log, pid.
# Silent on success; on failure says why on stderr and exits non-zero.
set -euo pipefail
SERVER=/usr/bin/pykmip-server
PYTHON=/usr/bin/python3   # a pyenv python3 earlier on PATH lacks the kmip module

die() { echo "kmip-peer: $*" >&2; exit 1; }
. "$(dirname "$0")/peer-lib.sh"

# issue NAME CN CA EXT: an RSA key and a certificate signed by CA (RSA: the
# server's TLS 1.2 cipher list has no ECDSA suites).
issue() {
	local d=$1 name=$2 cn=$3 ca=$4 ext=$5
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
		-subj "/CN=$cn" 2>/dev/null
	printf '%s\n' "$ext" > "$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" \
		-CAcreateserial -days 2 -out "$d/$name.pem" -extfile "$d/$name.ext" 2>/dev/null
	rm -f "$d/$name.csr" "$d/$name.ext"
	chmod 600 "$d/$name.key"
}

make_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/$2.key" -out "$1/$2.pem" -days 2 \
		-subj "/CN=$3" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

certs() {
	local d=$1
	[ -s "$d/client.pem" ] && return 0
	make_ca "$d" ca "phifs test KMIP CA"
	make_ca "$d" rogue-ca "phifs untrusted CA"
	issue "$d" server 127.0.0.1 ca \
		"subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
	issue "$d" client phifs-client ca "extendedKeyUsage=clientAuth"
	issue "$d" rogue-client phifs-client rogue-ca "extendedKeyUsage=clientAuth"
	issue "$d" noeku-client phifs-client ca "basicConstraints=CA:FALSE"
}

start() {
	local d=$1 port=$2 pid
	[ -x "$SERVER" ] || die "$SERVER not installed (apt-get install python3-pykmip)"
	mkdir -p "$d/policies"
	d=$(cd "$d" && pwd)
	listening "$port" && die "port $port is already in use"
	certs "$d"
	cat > "$d/pykmip.conf" <<EOF
[server]
hostname=127.0.0.1
port=$port
certificate_path=$d/server.pem
key_path=$d/server.key
ca_path=$d/ca.pem
auth_suite=TLS1.2
policy_path=$d/policies
enable_tls_client_auth=True
database_path=$d/pykmip.db
EOF
	setsid "$PYTHON" "$SERVER" -f "$d/pykmip.conf" -l "$d/pykmip.log" \
		</dev/null >>"$d/server.out" 2>&1 &
	pid=$!
	echo "$pid" > "$d/pid"
	peer_wait "$d" "$port" "$pid" 150
}

# Three processes in their own session: kill the group (SIGTERM takes ~11 s).
stop() { peer_stop "$1"; }

free_port() { peer_free_port; }

bench_uri() {
	local d=$1 port
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	port=$(free_port)
	start "$d" "$port"
	printf 'KMIP_URI=%q\n' "kmip://127.0.0.1:$port/bench-kek?ca=$d/ca.pem&cert=$d/client.pem&key=$d/client.key"
	printf 'PEER_STOP=%q\n' "$(cd "$(dirname "$0")" && pwd)/kmip-peer.sh stop $d"
}

case "${1:-}" in
bench-uri) [ $# -eq 2 ] || die "usage: $0 bench-uri DIR"; bench_uri "$2" ;;
start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
free-port) free_port ;;
*) die "usage: $0 start DIR PORT | stop DIR | free-port | bench-uri DIR" ;;
esac
