#!/usr/bin/env bash
# audit-syslog.sh: the RFC 5425 sink against a real TLS collector (python3 ssl,
# scripts/syslog-tls-peer.sh, mutual TLS on 127.0.0.1): every record arrives
# octet-counted, as the MSG of an RFC 5424 message, byte-identical to the
# spool line; a collector certificate from another CA or a missing client
# certificate makes the writer fail (the caller's failure policy applies).
# docs/AUDIT_FORMAT.md "Syslog".
. "$(dirname "$0")/lib.sh"
WRITE="$top_builddir/tests/tools/audit-write"
PEER="$top_srcdir/scripts/syslog-tls-peer.sh"
STREAM=00112233445566778899aabbccddeeff
command -v openssl >/dev/null || bail "openssl missing"
[ -x /usr/bin/python3 ] || bail "python3 missing"
WORK=$(mktemp -d /tmp/phifs-audit-syslog.XXXXXX)
cleanup() {
	mountpoint -q "$WORK/mnt" 2>/dev/null && umount -l "$WORK/mnt"
	stop_daemon
	"$PEER" stop "$WORK/peer"; chattr -R -a "$WORK" 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT
plan 6

"$PEER" start "$WORK/peer" || bail "collector did not start"
P="$WORK/peer" PORT=$(cat "$WORK/peer/port")
URI="tls://127.0.0.1:$PORT?ca=$P/ca.pem&cert=$P/client.pem&key=$P/client.key"

if AUDIT_WRITE_SYSLOG="$URI" "$WRITE" "$WORK/s" "$WORK/k" "$STREAM" 6 4 2>"$WORK/err"; then
	ok "writer with a TLS sink: records written"
else
	not_ok "writer with a TLS sink"; sed 's/^/# /' "$WORK/err"
fi
LOG=$(ls "$WORK"/s/*.log)
want=$(wc -l <"$LOG")

# The collector writes what it receives; wait (bounded) until all frames are there.
frames() {
	/usr/bin/python3 - "$P/received" "$LOG" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
lines = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
msgs, i = [], 0
while i < len(data):
    sp = data.index(b" ", i)
    n = int(data[i:sp])
    msgs.append(data[sp + 1:sp + 1 + n])
    i = sp + 1 + n
if len(msgs) < len(lines):
    print(len(msgs)); sys.exit(3)
for m, l in zip(msgs, lines):
    assert m.startswith(b"<86>1 "), m[:40]
    assert b" phifs-audit " in m and m.endswith(b" - " + l), (m[:80], l[:80])
print(len(msgs))
PY
}
got=0
for _ in $(seq 300); do
	got=$(frames 2>/dev/null); rc=$?
	[ $rc -ne 3 ] && break
	sleep 0.1
done
[ "$rc" -eq 0 ] && [ "$got" -eq "$want" ] && ok "all $want records arrived, octet-counted, MSG = spool line" \
	|| { not_ok "records at the collector ($got of $want, rc $rc)"; frames 2>&1 | tail -3 | sed 's/^/# /'; }

before=$(wc -c <"$P/received")
if AUDIT_WRITE_SYSLOG="tls://127.0.0.1:$PORT?ca=$P/rogue-ca.pem&cert=$P/client.pem&key=$P/client.key" \
	"$WRITE" "$WORK/s" "$WORK/k" "$STREAM" 2 2>"$WORK/err"; then
	not_ok "a collector not signed by ca= is refused"
else
	grep -q "handshake .* failed" "$WORK/err" && ok "a collector not signed by ca= is refused" \
		|| { not_ok "refused, but why?"; sed 's/^/# /' "$WORK/err"; }
fi
if AUDIT_WRITE_SYSLOG="tls://127.0.0.1:$PORT?ca=$P/ca.pem" "$WRITE" "$WORK/s" "$WORK/k" "$STREAM" 2 2>"$WORK/err"; then
	not_ok "without a client certificate the writer fails (TLS 1.3 late refusal seen)"
else
	ok "without a client certificate the writer fails (TLS 1.3 late refusal seen)"
fi
[ "$(wc -c <"$P/received")" -eq "$before" ] && ok "nothing reached the collector from refused writers" \
	|| not_ok "refused writers delivered records"

# A mounted volume with audit_syslog=: the daemon's records reach the collector.
CIPHER="$WORK/cipher" MNT="$WORK/mnt" KEY="$WORK/kek.bin"
export PHIFS_AUDIT_KEYS_DIR="$WORK/mk"
mkdir -p "$MNT"
init_volume || bail "cannot init"
if mount_volume -o "audit=$WORK/ms,audit_syslog=$URI" 2>"$WORK/err"; then
	echo x > "$MNT/PatientName.txt"
	umount_volume
	for _ in $(seq 100); do grep -q '"event":"unmount"' "$P/received" && break; sleep 0.1; done
	grep -q '"event":"create"' "$P/received" && grep -q '"event":"unmount"' "$P/received" \
		&& ! grep -q PatientName "$P/received" \
		&& ok "mount -o audit_syslog=tls://...: the daemon's records reach the collector, no name" \
		|| not_ok "daemon records at the collector"
else
	not_ok "mount with audit_syslog"; sed 's/^/# /' "$WORK/err"
fi
exit 0
