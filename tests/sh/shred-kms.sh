#!/usr/bin/env bash
# shred-kms.sh: crypto-shredding (FORMAT.md §12.4) when the volume's KEK lives
# in a KMIP server (PyKMIP, scripts/kmip-peer.sh) or a PKCS#11 token
# (SoftHSM2, scripts/softhsm-peer.sh): the key table's epoch KEKs are keys of
# their own (NAME.keytab.<e>, label kek.keytab.<e>); after a shred the file is
# gone, the others read, keytab-decrypt opens the copied backing file neither
# with the current table nor with the old table copy (its KEK destroyed in the
# KMS: KMIP Revoke + Destroy, PKCS#11 C_DestroyObject), the volume's own KEK
# still unwraps (remount), and creates go on. A provider whose peer is not
# installed is skipped (its tests reported as skipped).
. "$(dirname "$0")/lib.sh"
setup
plan 16
DEC="$top_builddir/tests/tools/keytab-decrypt"
backing_of() { ls -i "$CIPHER" | awk -v ino="$(stat -c %i "$1")" '$1 == ino { print $2; exit }'; }

# shred_round NAME URI: 8 checks on a fresh volume under URI.
shred_round() {
	local name=$1 uri=$2 out rc back sha
	rm -rf "$CIPHER" "$WORK/old"; mkdir -p "$WORK/old"
	"$PHIFS" init --kms "$uri" "$CIPHER" >/dev/null 2>"$WORK/err" && \
		"$PHIFS_KEYS" enable-shred "$CIPHER" >/dev/null 2>>"$WORK/err" && mount_volume 2>>"$WORK/err" \
		&& ok "$name: init, enable-shred, mount" || { not_ok "$name: init/enable/mount"; diag "$(cat "$WORK/err")"; return; }
	head -c 20000 /dev/urandom > "$MNT/phi"; head -c 7000 /dev/urandom > "$MNT/keep"
	sha=$(sha "$MNT/keep"); back="$CIPHER/$(backing_of "$MNT/phi")"
	cp "$back" "$WORK/phi.copy"; cp "$CIPHER/phifs.keytab" "$WORK/old/"
	out=$("$DEC" "$CIPHER" "$CIPHER" "$WORK/phi.copy" 2>&1)
	case $out in "ok "*) ok "$name: before the shred the copy decrypts" ;; *) not_ok "$name: decrypt before"; diag "$out" ;; esac
	out=$("$PHIFS_KEYS" shred "$CIPHER" "$MNT/phi" 2>&1); rc=$?
	[ $rc -eq 0 ] && [ ! -e "$MNT/phi" ] && echo "$out" | grep -q "1 old table KEK(s) destroyed" \
		&& ok "$name: shred destroys the old table KEK in the KMS, the file is gone" || { not_ok "$name: shred (rc=$rc)"; diag "$out"; }
	out=$("$DEC" "$CIPHER" "$CIPHER" "$WORK/phi.copy" 2>&1); rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -qi revoked && ok "$name: the copy does not decrypt with the current table" || { not_ok "$name: current table (rc=$rc)"; diag "$out"; }
	out=$("$DEC" "$CIPHER" "$WORK/old" "$WORK/phi.copy" 2>&1); rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q destroyed && ok "$name: nor with the old table copy (KEK destroyed)" || { not_ok "$name: old table (rc=$rc)"; diag "$out"; }
	umount_volume && mount_volume 2>"$WORK/err" && [ "$(sha "$MNT/keep")" = "$sha" ] \
		&& ok "$name: remount (the volume KEK untouched), the other file intact" || { not_ok "$name: remount"; diag "$(cat "$WORK/err")"; }
	for i in $(seq 300); do echo "$i" > "$MNT/n$i"; done
	[ "$(cat "$MNT/n300")" = 300 ] && "$PHIFS_KEYS" shred "$CIPHER" "$MNT/n1" >/dev/null 2>&1 && [ "$(cat "$MNT/n299")" = 299 ] \
		&& ok "$name: 300 creates after the shred, a second shred, files still read" || not_ok "$name: creates after shred"
	umount_volume
	eval "$3"   # provider-specific check that the old KEK is gone from the KMS
}

# KMIP
if [ -x /usr/bin/pykmip-server ]; then
	PEER="$top_srcdir/scripts/kmip-peer.sh"; PD="$WORK/kmip"; mkdir -p "$PD"
	PORT=$("$PEER" free-port) || bail "no free port"
	trap '"$PEER" stop "$PD"; teardown' EXIT
	"$PEER" start "$PD" "$PORT" || bail "cannot start the PyKMIP peer"
	KURI="kmip://127.0.0.1:$PORT/shred-kek?ca=$PD/ca.pem&cert=$PD/client.pem&key=$PD/client.key"
	shred_round kmip "$KURI" '
	out=$(/usr/bin/python3 - "$PD/pykmip.db" <<PYEOF
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
names = [r[0] for r in c.execute("select n.name from managed_object_names n join managed_objects m on n.mo_uid = m.uid")]
print(" ".join(sorted(set(names))))
PYEOF
)
	echo "$out" | grep -qw "shred-kek.keytab.3" && ! echo "$out" | grep -qE "shred-kek.keytab.[12]\\b" && echo "$out" | grep -qw shred-kek \
		&& ok "kmip: the server holds shred-kek and shred-kek.keytab.3 only (older epochs destroyed)" || { not_ok "kmip: server objects"; diag "$out"; }'
	"$PEER" stop "$PD"
else
	for i in $(seq 8); do ok "# SKIP kmip: /usr/bin/pykmip-server not installed"; done
fi

# PKCS#11
MODULE=/usr/lib/softhsm/libsofthsm2.so
if command -v softhsm2-util >/dev/null && [ -r "$MODULE" ]; then
	TOK="shred-$$"
	bash "$top_srcdir/scripts/softhsm-peer.sh" init "$WORK/hsm" "$TOK" >/dev/null 2>"$WORK/peer.err" \
		|| { cat "$WORK/peer.err"; bail "cannot make a SoftHSM token"; }
	. "$WORK/hsm/env"
	PURI="pkcs11:token=$TOK;object=kek?module-path=$P11_MODULE&pin-source=file:$P11_PIN_FILE"
	shred_round pkcs11 "$PURI" '
	out=$(pkcs11-tool --module "$P11_MODULE" --token-label "$TOK" --login --pin "$(cat "$P11_PIN_FILE")" --list-objects 2>&1)
	echo "$out" | grep -q "label: *kek.keytab.3$" && ! echo "$out" | grep -qE "label: *kek.keytab.[12]$" && echo "$out" | grep -q "label: *kek$" \
		&& ok "pkcs11: the token holds kek and kek.keytab.3 only (older epochs: C_DestroyObject)" || { not_ok "pkcs11: token objects"; diag "$out"; }'
else
	for i in $(seq 8); do ok "# SKIP pkcs11: softhsm2 not installed"; done
fi
finish
