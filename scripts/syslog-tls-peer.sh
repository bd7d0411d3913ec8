#!/usr/bin/env bash
# syslog-tls-peer.sh: a throwaway RFC 5425 collector for tests (docs/AUDIT_FORMAT.md "Syslog"):
# a python3 ssl server on 127.0.0.1 that requires a client certificate and appends every byte it
# receives to DIR/received.
#   scripts/syslog-tls-peer.sh start DIR   certificates (once per DIR), start on a free port,
#                                          wait until it listens; DIR/port, DIR/pid
#   scripts/syslog-tls-peer.sh stop DIR    kill the server by its saved PID
# DIR gets: ca.pem, server.pem/.key (SAN IP:127.0.0.1), client.pem/.key (clientAuth),
# rogue-ca.pem (a CA that signed nothing here), received, peer.log.
# Silent on success; on failure says why on stderr and exits non-zero.
set -euo pipefail
PYTHON=/usr/bin/python3
die() { echo "syslog-tls-peer: $*" >&2; exit 1; }

make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
		-out "$1/$2.pem" -days 2 -subj "/CN=$3" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# issue DIR NAME CN EXT: a P-256 key and a certificate signed by DIR/ca
issue() {
	local d=$1 name=$2 cn=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$name.key" \
		-out "$d/$name.csr" -subj "/CN=$cn" 2>/dev/null
	printf '%s\n' "$ext" > "$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -out "$d/$name.pem" -extfile "$d/$name.ext" 2>/dev/null
	rm -f "$d/$name.csr" "$d/$name.ext"
	chmod 600 "$d/$name.key"
}

certs() {
	local d=$1
	[ -s "$d/client.pem" ] && return 0
	make_ca "$d" ca "phifs test syslog CA"
	make_ca "$d" rogue-ca "phifs rogue CA"
	issue "$d" server 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
	issue "$d" client phifs-audit "extendedKeyUsage=clientAuth"
}

start() {
	local d=$1
	mkdir -p "$d"; d=$(cd "$d" && pwd)
	certs "$d"
	: > "$d/received"; rm -f "$d/port"
	setsid "$PYTHON" - "$d" >"$d/peer.log" 2>&1 <<'PY' &
import os, socket, ssl, sys, threading
d = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(d + "/ca.pem")
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
lock = threading.Lock()
def serve(c):
    try:
        with ctx.wrap_socket(c, server_side=True) as s:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                with lock, open(d + "/received", "ab") as f:
                    f.write(b)
    except Exception as e:
        print("connection:", e, flush=True)
with open(d + "/port.tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(d + "/port.tmp", d + "/port")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	echo $! > "$d/pid"
	for _ in $(seq 100); do
		[ -s "$d/port" ] && return 0
		kill -0 "$(cat "$d/pid")" 2>/dev/null || die "server exited: $(cat "$d/peer.log")"
		sleep 0.1
	done
	die "server did not start"
}

stop() {
	local pid
	pid=$(cat "$1/pid" 2>/dev/null) || return 0
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$1/pid"
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
*) die "usage: $0 start|stop DIR" ;;
esac
