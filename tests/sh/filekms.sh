#!/usr/bin/env bash
# filekms.sh: per-file KMS mode (phifs init --wrap per-file-kms; docs/FORMAT.md
# §3.3, §4.4). Local key file: round trip, headers of wrap kind 2, remount; a
# file opened again is a cache hit (no second KMS unwrap: the daemon's own
# count at unmount); `phifs lock` empties the cache; a wrapped key moved into
# another file's header does not unwrap; fsck; rotate-kms re-wraps every
# header (the old key file can go), resumes after a failure, refuses while
# mounted; rekey; status counts files per KEK.
# KMIP (a real PyKMIP server): 50 files, remount, read; with the server
# killed, cached files open, an uncached one fails with EIO, creates fail
# with EIO once the pre-wrapped pool is used up and the log names the KMS;
# after a restart everything works. PKCS#11 (SoftHSM2): round trip, remount.
. "$(dirname "$0")/lib.sh"
setup
PEER="$top_srcdir/scripts/kmip-peer.sh"
PD="$WORK/kmip"
HAVE_KMIP=0; [ -x /usr/bin/pykmip-server ] && HAVE_KMIP=1
HAVE_P11=0; command -v softhsm2-util >/dev/null && [ -r /usr/lib/softhsm/libsofthsm2.so ] && HAVE_P11=1
fk_teardown() {
	[ -d "$PD" ] && "$PEER" stop "$PD" 2>/dev/null
	[ -n "${VID:-}" ] && "$PHIFS" lock "$CIPHER" >/dev/null 2>&1
	teardown
}
trap fk_teardown EXIT
plan 46

# fg_mount LOG: a foreground daemon whose log (stderr) goes to LOG.
fg_mount() {
	"$PHIFS" mount -f -o allow_other --pidfile "$WORK/phifs.pid" "$@" "$CIPHER" "$MNT" 2>"$LOG" &
	eventually mountpoint -q "$MNT"
}
fg_umount() { umount_volume; wait; }
# stats: "wraps unwraps hits" from the daemon's last log (written at unmount).
stats() { sed -n 's/.*per-file KMS: \([0-9]*\) file key wraps, \([0-9]*\) unwraps, \([0-9]*\) cache hits.*/\1 \2 \3/p' "$LOG"; }
# kinds: the wrap-kind byte (header offset 7) of every backing regular file.
kinds() { find "$CIPHER" -maxdepth 1 -type f ! -name 'phifs.*' -exec od -An -tx1 -j7 -N1 {} \; | sort -u | tr -d ' '; }
LOG="$WORK/d1.log"

# ---- local key file ---------------------------------------------------------
check "init --wrap per-file-kms" init_volume --wrap per-file-kms
check "info shows the mode" sh -c "'$PHIFS' info '$CIPHER' | grep -q 'file keys: *per-file KMS'"
"$PHIFS" init --kms passphrase --wrap per-file-kms "$WORK/pp" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && [ ! -e "$WORK/pp/phifs.conf" ] && ok "refused with a passphrase (exit 2)" ||
	not_ok "refused with a passphrase (exit $rc)"
VID=$("$PHIFS" info --json "$CIPHER" | sed 's/.*"volume_id":"\([0-9a-f]*\)".*/\1/')
check "mount" fg_mount
MARKER="PATIENT-MARKER-$$-per-file-KMS-Mary-Major"
head -c 1048589 /dev/urandom > "$WORK/big"
printf '%s\n' "$MARKER" > "$WORK/notes"
cp "$WORK/big" "$MNT/big" && cp "$WORK/notes" "$MNT/notes" && for i in 1 2 3; do echo "f$i" > "$MNT/f$i"; done
check "data reads back equal" cmp -s "$WORK/big" "$MNT/big"
check_fails "backing files hold no plaintext" grep -rqa "$MARKER" "$CIPHER"
check "umount" fg_umount
[ "$(kinds)" = 02 ] && ok "every header is wrap kind 2" || not_ok "header wrap kinds: $(kinds | tr '\n' ' ')"

LOG="$WORK/d2.log"
check "remount" fg_mount
check "data equal after remount" cmp -s "$WORK/big" "$MNT/big"
for _ in 1 2 3; do cat "$MNT/notes" > /dev/null; done
# Eight concurrent first opens of one file: one unwrap between them.
pids=; for _ in 1 2 3 4 5 6 7 8; do cat "$MNT/f1" > /dev/null & pids="$pids $!"; done; wait $pids
check "umount" fg_umount
read -r w u h <<< "$(stats)"
[ "${u:-x}" = 3 ] && [ "${h:-0}" -ge 2 ] && ok "cached or concurrent opens need no extra KMS unwrap (3 files, 3 unwraps, $h hits)" ||
	not_ok "cache hits: wraps=$w unwraps=$u hits=$h"

LOG="$WORK/d3.log"
check "mount for lock" fg_mount
cat "$MNT/notes" > /dev/null
refused() { ! cat "$MNT/notes" > /dev/null 2>&1; }
"$PHIFS" lock "$CIPHER" >/dev/null
check "phifs lock: opens are refused" eventually refused
"$PHIFS" unlock --timeout 60s "$CIPHER" >/dev/null
check "phifs unlock: the file opens again" eventually cmp -s "$WORK/notes" "$MNT/notes"
check "umount" fg_umount
read -r w u h <<< "$(stats)"
[ "${u:-x}" = 2 ] && ok "lock emptied the key cache (the open after unlock asked the KMS again)" ||
	not_ok "after lock: wraps=$w unwraps=$u hits=$h"
"$PHIFS" lock "$CIPHER" >/dev/null 2>&1

# A wrapped key copied into another file's header (with its KEK ref and
# length): the §4.4 AAD binds the file id, so the KMS refuses it.
A=$(find "$CIPHER" -maxdepth 1 -type f ! -name 'phifs.*' -size -2k | sed -n 1p)
B=$(find "$CIPHER" -maxdepth 1 -type f ! -name 'phifs.*' -size -2k | sed -n 2p)
cp "$B" "$WORK/B.saved"
python3 - "$A" "$B" <<'EOF'
import sys
a = open(sys.argv[1], 'rb').read(176)
with open(sys.argv[2], 'r+b') as f:
    h = bytearray(f.read(176))
    h[24:28] = a[24:28]
    h[40:144] = a[40:144]
    f.seek(0); f.write(h)
EOF
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
[ $rc -eq 1 ] && ok "fsck flags the moved wrapped key (exit 1)" || { not_ok "fsck on a moved wrapped key (exit $rc)"; diag "$out"; }
cp "$WORK/B.saved" "$B"
check "fsck clean again (one KMS unwrap per file)" "$PHIFS" fsck "$CIPHER"

# A header that cannot be rewritten (immutable) stops the rotation before
# its last step; the rerun resumes with the KEK it had added.
chattr +i "$A"
"$PHIFS_KEYS" rotate-kms --to "local:$WORK/kek2.bin" "$CIPHER" > "$WORK/rot1.out" 2>&1; rc=$?
chattr -i "$A"
[ $rc -ne 0 ] && [ "$("$PHIFS" info "$CIPHER" | grep -c '^file KEK:')" = 2 ] &&
	ok "rotate-kms with an unwritable header: exit $rc, both KEKs still in the table" ||
	{ not_ok "rotate-kms with an unwritable header (exit $rc)"; diag "$(cat "$WORK/rot1.out")"; }
out=$("$PHIFS_KEYS" rotate-kms --to "local:$WORK/kek2.bin" "$CIPHER" 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "re-wrapped under local:[0-9a-f]*: 1 (4 already), resumed" &&
	ok "rotate-kms again resumes: the one header left is re-wrapped" ||
	{ not_ok "rotate-kms resume (exit $rc)"; diag "$out"; }
NEW=$("$PHIFS" info "$CIPHER" | sed -n 's/^file KEK: *#[0-9]* \(local:[0-9a-f]*\) (current)/\1/p')
out=$("$PHIFS_KEYS" status "$CIPHER" 2>&1)
echo "$out" | grep -q "files 5  KEK $NEW" && [ "$(echo "$out" | grep -c '^  #')" = 1 ] &&
	ok "status: all 5 files under the new KEK, the old one gone from the table" ||
	{ not_ok "status after rotate-kms"; diag "$out"; }
mv "$KEY" "$WORK/kek.old"
LOG="$WORK/d4.log"
check "mounts without the old key file" fg_mount
out=$("$PHIFS_KEYS" rotate-kms --to "local:$WORK/kek3.bin" "$CIPHER" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "volume is mounted" && [ "$("$PHIFS" info "$CIPHER" | grep -c '^file KEK:')" = 1 ] &&
	ok "rotate-kms refuses a mounted per-file volume, config unchanged" ||
	{ not_ok "rotate-kms while mounted (exit $rc)"; diag "$out"; }
check "data intact after the rotation" cmp -s "$WORK/big" "$MNT/big"
check "rekey --all" "$PHIFS_KEYS" rekey --all "$MNT"
check "data intact after rekey" cmp -s "$WORK/big" "$MNT/big"
check "umount" fg_umount
check "fsck clean after rotation and rekey" "$PHIFS" fsck "$CIPHER"

# ---- KMIP -------------------------------------------------------------------
kmip_part() {
	local port uri i n out
	mkdir -p "$PD"
	port=$("$PEER" free-port) && "$PEER" start "$PD" "$port" || { not_ok "start the PyKMIP peer"; return; }
	uri="kmip://127.0.0.1:$port/filekms?ca=$PD/ca.pem&cert=$PD/client.pem&key=$PD/client.key"
	CIPHER="$WORK/kmip-cipher"
	check "kmip: init --wrap per-file-kms" "$PHIFS" init --kms "$uri" --wrap per-file-kms "$CIPHER"
	LOG="$WORK/k1.log"
	fg_mount
	for i in $(seq 50); do echo "record $i" > "$MNT/r$i"; done
	fg_umount
	LOG="$WORK/k2.log"
	check "kmip: remount" fg_mount
	n=0; for i in $(seq 40); do [ "$(cat "$MNT/r$i")" = "record $i" ] && n=$((n + 1)); done
	[ $n = 40 ] && ok "kmip: 40 of 50 files read back" || not_ok "kmip: $n of 40 files read back"
	"$PEER" stop "$PD"
	check "kmip down: a cached file still opens" sh -c "[ \"\$(cat '$MNT/r7')\" = 'record 7' ]"
	out=$(cat "$MNT/r45" 2>&1)
	echo "$out" | grep -q "Input/output error" && ok "kmip down: an uncached open fails with EIO" ||
		{ not_ok "kmip down: uncached open"; diag "$out"; }
	n=0; for i in $(seq 40); do echo x 2>/dev/null > "$MNT/new$i" || break; n=$i; done
	out=$(echo x 2>&1 > "$MNT/new-last")
	[ $n -le 32 ] && echo "$out" | grep -q "Input/output error" &&
		ok "kmip down: creates use the pool ($n), then fail with EIO" ||
		{ not_ok "kmip down: creates after $n: $out"; }
	check "kmip down: the log names the KMS" grep -q "cannot wrap a file key with KMS kmip://127.0.0.1:$port/filekms" "$LOG"
	"$PEER" start "$PD" "$port" || { not_ok "restart the PyKMIP peer"; return; }
	check "kmip back: the uncached file opens" eventually sh -c "[ \"\$(cat '$MNT/r45')\" = 'record 45' ]"
	check "kmip back: creates work" eventually sh -c "echo y > '$MNT/after' && [ \"\$(cat '$MNT/after')\" = y ]"
	check "kmip: umount" fg_umount
	check "kmip: fsck clean" "$PHIFS" fsck "$CIPHER"
	"$PEER" stop "$PD"
}
if [ $HAVE_KMIP = 1 ]; then kmip_part; else
	for i in $(seq 11); do ok "# SKIP no /usr/bin/pykmip-server"; done
fi

# ---- PKCS#11 ----------------------------------------------------------------
p11_part() {
	local tok="fk-$$"
	bash "$top_srcdir/scripts/softhsm-peer.sh" init "$WORK/hsm" "$tok" >/dev/null 2>&1 ||
		{ not_ok "make a SoftHSM token"; return; }
	. "$WORK/hsm/env"
	CIPHER="$WORK/p11-cipher"
	check "pkcs11: init --wrap per-file-kms" "$PHIFS" init --wrap per-file-kms \
		--kms "pkcs11:token=$tok;object=kek?module-path=$P11_MODULE&pin-source=file:$P11_PIN_FILE" "$CIPHER"
	LOG="$WORK/p1.log"
	fg_mount && cp "$WORK/big" "$MNT/big"
	check "pkcs11: data reads back equal" cmp -s "$WORK/big" "$MNT/big"
	check "pkcs11: umount" fg_umount
	LOG="$WORK/p2.log"
	check "pkcs11: remount (the daemon unwraps through the token)" fg_mount
	check "pkcs11: data equal after remount" cmp -s "$WORK/big" "$MNT/big"
	check "pkcs11: umount" fg_umount
}
if [ $HAVE_P11 = 1 ]; then p11_part; else
	for i in $(seq 6); do ok "# SKIP softhsm2 not installed"; done
fi
finish
