#!/usr/bin/env bash
# kmip.sh: the kmip provider against a real PyKMIP server (scripts/kmip-peer.sh):
# the provider's key lifecycle (tests/tools/kms-probe), then a volume whose key
# lives in the KMS — init creates the KEK, mount/round trip/remount; a client
# certificate from an untrusted CA, one without clientAuth, and a server the
# CA does not vouch for are refused with clear messages; a KMS that accepts
# TCP but never answers times out, one that hangs up mid-request is retried; with the server killed, a mounted volume
# keeps working and a new mount fails fast with exit 3 naming the KMS; after a
# restart on the same database it mounts again, and a handle whose connection
# the restart dropped reconnects; rotate-kms moves the volume to another KEK
# and revokes the old one.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/pykmip-server ] || { echo "1..0 # SKIP /usr/bin/pykmip-server not installed (python3-pykmip)"; exit 0; }
setup
PEER="$top_srcdir/scripts/kmip-peer.sh"
PROBE="$top_builddir/tests/tools/kms-probe"
PD="$WORK/kmip"
mkdir -p "$PD"
PORT=$("$PEER" free-port) || bail "no free port"
SILENT_PID=
kmip_teardown() {
	[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
	"$PEER" stop "$PD"
	teardown
}
trap kmip_teardown EXIT
uri() { # uri KEY-NAME CA CLIENT
	echo "kmip://127.0.0.1:$PORT/$1?ca=$PD/$2.pem&cert=$PD/$3.pem&key=$PD/$3.key"
}
URI=$(uri phifs-kek ca client)
plan 48

"$PEER" start "$PD" "$PORT" || bail "cannot start the PyKMIP peer"

# 1..20: the probe's own TAP lines, renumbered into ours.
"$PROBE" "$(uri probe-kek ca client)" > "$WORK/probe.out" 2> "$WORK/probe.err"
# relay OUT ERR COUNT: a probe's TAP lines as ours (COUNT of them expected).
relay() {
	local n=0 line
	while read -r line; do
		case "$line" in
		"ok "*) n=$((n + 1)); ok "probe: ${line#ok * - }" ;;
		"not ok "*) n=$((n + 1)); not_ok "probe: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done < "$1"
	while [ $n -lt "$3" ]; do n=$((n + 1)); not_ok "probe: missing result $n"; done
	[ -s "$2" ] && sed 's/^/# probe stderr: /' "$2"
	return 0
}
relay "$WORK/probe.out" "$WORK/probe.err" 20

check "init creates the KEK in the KMS" sh -c "'$PHIFS' init --kms '$URI' '$CIPHER' >/dev/null"
check "info shows the kmip KEK id" sh -c "'$PHIFS' info '$CIPHER' | grep -q 'wrapped by kmip:[0-9A-Za-z-]'"
check "mount" mount_volume
MARKER="PATIENT-MARKER-$(date +%s)-KMIP-John-Roe"
mkdir -p "$WORK/plain"
head -c 1048589 /dev/urandom > "$WORK/plain/big"
for i in $(seq 40); do echo "$MARKER line $i"; done > "$WORK/plain/notes.txt"
cp "$WORK/plain/big" "$WORK/plain/notes.txt" "$MNT/" 2>/dev/null
check "random data reads back equal" cmp -s "$WORK/plain/big" "$MNT/big"
check_fails "backing files hold no plaintext" grep -rqa "$MARKER" "$CIPHER"
check "umount" umount_volume
check "remount (unwrap through the KMS)" mount_volume
check "data equal after remount" cmp -s "$WORK/plain/big" "$MNT/big"
umount_volume

# refused: every one exits 3, mounts nothing, and says why
refused() { # refused DESCRIPTION URI EXPECTED-MESSAGE
	local out rc
	out=$("$PHIFS" mount --kms "$2" "$CIPHER" "$MNT" 2>&1); rc=$?
	if [ $rc -eq 3 ] && echo "$out" | grep -q "$3" && ! mountpoint -q "$MNT"; then
		ok "$1 (exit 3, \"$3\")"
	else
		not_ok "$1 (exit $rc)"; echo "$out" | sed 's/^/# /'
	fi
}
refused "a client certificate from an untrusted CA is refused" \
	"$(uri phifs-kek ca rogue-client)" "client certificate refused"
refused "a client certificate without clientAuth is refused" \
	"$(uri phifs-kek ca noeku-client)" "authentication not successful"
refused "a server certificate the ca= does not vouch for is refused" \
	"$(uri phifs-kek rogue-ca client)" "server certificate of 127.0.0.1:$PORT not trusted"

# A KMS that accepts TCP and never speaks: bounded by the 5 s timeouts, never a hang.
SPORT=$("$PEER" free-port)
/usr/bin/python3 -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SPORT)); s.listen(16); time.sleep(120)" &
SILENT_PID=$!
for _ in $(seq 50); do ss -ltnH "sport = :$SPORT" | grep -q LISTEN && break; sleep 0.1; done
t0=$(date +%s)
out=$("$PHIFS" mount --kms "kmip://127.0.0.1:$SPORT/phifs-kek?ca=$PD/ca.pem&cert=$PD/client.pem&key=$PD/client.key" \
	"$CIPHER" "$MNT" 2>&1); rc=$?
t=$(( $(date +%s) - t0 ))
kill "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; SILENT_PID=
if [ $rc -eq 3 ] && [ $t -lt 30 ] && echo "$out" | grep -q "127.0.0.1:$SPORT unreachable: Connection timed out"; then
	ok "a silent KMS times out (exit 3 after ${t}s)"
else
	not_ok "a silent KMS times out (exit $rc after ${t}s)"; echo "$out" | sed 's/^/# /'
fi

# A KMS that completes TLS, reads the request and hangs up (no close_notify):
# retried, then reported as a reset, exit 3 — not a protocol or volume error.
/usr/bin/python3 -c "import socket, ssl, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('$PD/server.pem', '$PD/server.key')
ctx.load_verify_locations('$PD/ca.pem'); ctx.verify_mode = ssl.CERT_REQUIRED
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SPORT)); s.listen(16)
while True:
    c, _ = s.accept()
    try:
        t = ctx.wrap_socket(c, server_side=True); t.recv(8); t.close()
    except Exception:
        c.close()" &
SILENT_PID=$!
for _ in $(seq 50); do ss -ltnH "sport = :$SPORT" | grep -q LISTEN && break; sleep 0.1; done
out=$("$PHIFS" mount --kms "kmip://127.0.0.1:$SPORT/phifs-kek?ca=$PD/ca.pem&cert=$PD/client.pem&key=$PD/client.key" \
	"$CIPHER" "$MNT" 2>&1); rc=$?
kill "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; SILENT_PID=
if [ $rc -eq 3 ] && echo "$out" | grep -q "127.0.0.1:$SPORT unreachable: Connection reset by peer (3 attempts)"; then
	ok "a KMS that hangs up mid-request: retried, then exit 3"
else
	not_ok "a KMS that hangs up mid-request (exit $rc)"; echo "$out" | sed 's/^/# /'
fi

check "mount again" mount_volume
# A probe holding an open connection across the restart below must reconnect.
mkfifo "$WORK/resume"
"$PROBE" --pause "$(uri probe-kek ca client)" < "$WORK/resume" > "$WORK/pause.out" 2> "$WORK/pause.err" &
PAUSED=$!
exec 7> "$WORK/resume"
for _ in $(seq 100); do grep -q "^# paused" "$WORK/pause.out" && break; sleep 0.1; done
"$PEER" stop "$PD"
check "with the KMS killed, the mounted volume still reads" cmp -s "$WORK/plain/notes.txt" "$MNT/notes.txt"
check "... and writes" sh -c "cp '$WORK/plain/big' '$MNT/big2' && cmp -s '$WORK/plain/big' '$MNT/big2'"
check "umount" umount_volume
t0=$(date +%s)
out=$("$PHIFS" mount "$CIPHER" "$MNT" 2>&1); rc=$?
t=$(( $(date +%s) - t0 ))
if [ $rc -eq 3 ] && [ $t -lt 30 ] && echo "$out" | grep -q "KMS 127.0.0.1:$PORT unreachable"; then
	ok "with the KMS down a new mount fails fast (exit 3 after ${t}s, names the KMS)"
else
	not_ok "with the KMS down a new mount fails fast (exit $rc after ${t}s)"; echo "$out" | sed 's/^/# /'
fi
"$PEER" start "$PD" "$PORT" || bail "cannot restart the PyKMIP peer"
echo resume >&7; exec 7>&-
wait "$PAUSED"
relay "$WORK/pause.out" "$WORK/pause.err" 2
check "after a restart on the same database the volume mounts" mount_volume
check "and its data is intact" cmp -s "$WORK/plain/big" "$MNT/big2"
check "umount" umount_volume

# Rotation to another KMIP key name, retiring the old KEK (phifs-keys rotate-kms).
OLD_KEK=$("$PHIFS" info "$CIPHER" | sed -n 's/.*wrapped by \(kmip:[^ ]*\).*/\1/p' | head -1)
check "rotate-kms --to another key name --retire-old" \
	"$PHIFS_KEYS" rotate-kms --to "$(uri phifs-kek-2 ca client)" --retire-old "$CIPHER"
out=$("$PHIFS_KEYS" status "$CIPHER" 2>&1)
if echo "$out" | grep -q "KEK kmip:[^ ]*: active" && ! echo "$out" | grep -q "KEK $OLD_KEK:"; then
	ok "status: the new KEK is active, the old one ($OLD_KEK) no longer used"
else
	not_ok "status after rotate-kms"; echo "$out" | sed 's/^/# /'
fi
check "mounts under the new KEK" mount_volume
check "data intact after the KEK rotation" cmp -s "$WORK/plain/big" "$MNT/big2"
check "umount" umount_volume
finish
