#!/usr/bin/env bash
# shred.sh: crypto-shredding with phifs-keys shred (docs/FORMAT.md §12,
# OPERATIONS.md "Crypto-shredding") on a mounted volume, local KMS provider.
# A file's backing file and the whole key table are copied aside; after the
# shred the file is gone from the mount, the others are intact, and
# keytab-decrypt (an attacker holding the volume KEK) decrypts the copy
# neither with the current table (its slot is destroyed) nor with the old
# table copy (its epoch's KEK is destroyed) — while before the shred it did.
# Then kill -9 of shred at each step (new KEK made, new table written, table
# renamed, old KEK destroyed): until the rename the file still reads, after
# it it is gone, and a rerun finishes. Creates across epochs (600 files while
# shredding), a file made before enable-shred (rekeyed by shred), the audit
# "key" records (file ids, no names), fsck and info, refusals.
. "$(dirname "$0")/lib.sh"
setup
plan 42
PY=/usr/bin/python3
DEC="$top_builddir/tests/tools/keytab-decrypt"
AUD="$WORK/audit"
backing_of() { # backing name of a top-level file: the daemon reports backing inode numbers
	ls -i "$CIPHER" | awk -v ino="$(stat -c %i "$1")" '$1 == ino { print $2; exit }'
}
fid_of() { od -An -tx1 -j8 -N16 "$1" | tr -d ' \n'; }   # file id: header bytes 8..23
mkfile() { head -c "$2" /dev/urandom > "$MNT/$1"; }

init_volume || bail "cannot init"
out=$("$PHIFS_KEYS" shred "$CIPHER" /nonexistent 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "enable-shred" \
	&& ok "shred on a volume without a key table is refused, naming enable-shred" || { not_ok "no table: refused (rc=$rc)"; diag "$out"; }
mount_volume || bail "cannot mount"
mkfile early 5000                                   # made before enable-shred
"$PHIFS_KEYS" enable-shred "$CIPHER" > /dev/null 2>"$WORK/en.err" \
	&& ok "enable-shred on a mounted volume" || { not_ok "enable-shred"; diag "$(cat "$WORK/en.err")"; }
check "its KEK is a key file of its own beside the volume's (0600)" \
	test "$(stat -c %a "$WORK/kek.bin.keytab.1" 2>/dev/null)" = 600
out=$("$PHIFS_KEYS" shred "$CIPHER" "$MNT/early" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "remount" && [ -e "$MNT/early" ] \
	&& ok "a mount older than enable-shred: shred refuses (remount first), file kept" || { not_ok "old mount (rc=$rc)"; diag "$out"; }
umount_volume && mount_volume || bail "cannot remount"

mkfile phi 10000; mkfile keep1 1; mkfile keep2 100000; mkfile hl 3000; ln "$MNT/hl" "$MNT/hl2"
for i in $(seq 1 40); do mkfile "f$i" $((i * 300)); done
sum_keep=$(cat "$MNT/keep1" "$MNT/keep2" | sha256sum)
phi_sha=$(sha "$MNT/phi")
phi_back="$CIPHER/$(backing_of "$MNT/phi")"
phi_fid=$(fid_of "$phi_back")
cp "$phi_back" "$WORK/phi.copy"
mkdir "$WORK/oldtab" && cp "$CIPHER/phifs.keytab" "$WORK/oldtab/"
BK="$top_builddir/tools/phifs-backup/phifs-backup"; REPO="$WORK/repo"
"$BK" -r "$REPO" init --kms "local:$WORK/repo.key" >/dev/null 2>&1 && "$BK" -r "$REPO" backup "$CIPHER" >/dev/null 2>&1 \
	|| bail "cannot make a backup snapshot"
out=$("$DEC" "$CIPHER" "$CIPHER" "$WORK/phi.copy")
[ "$out" = "ok $phi_sha" ] && ok "before the shred, keytab-decrypt decrypts the copied backing file" || { not_ok "decrypt before"; diag "$out"; }
flags=$(od -An -tu4 -j28 -N4 "$phi_back" | tr -d ' ')
[ $((flags & 4)) -eq 4 ] && ok "a file made after enable-shred has the KEYTAB header flag" || not_ok "KEYTAB flag ($flags)"

out=$("$PHIFS_KEYS" shred "$CIPHER" "$MNT/phi" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "shred exits 0" || { not_ok "shred (rc=$rc)"; diag "$out"; }
echo "$out" | grep -q phi && not_ok "shred's output names no path" || ok "shred's output names no path"
check "the file is gone from the mount" test ! -e "$MNT/phi"
check "its backing file is gone" test ! -e "$phi_back"
check "the other files are intact" test "$(cat "$MNT/keep1" "$MNT/keep2" | sha256sum)" = "$sum_keep"
out=$("$DEC" "$CIPHER" "$CIPHER" "$WORK/phi.copy"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -qi "revoked" \
	&& ok "the copy does not decrypt with the volume key and the current table (slot destroyed)" || { not_ok "current table (rc=$rc)"; diag "$out"; }
out=$("$DEC" "$CIPHER" "$WORK/oldtab" "$WORK/phi.copy"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "destroyed" \
	&& ok "nor with the old table copy (its epoch's KEK destroyed)" || { not_ok "old table (rc=$rc)"; diag "$out"; }
[ ! -e "$WORK/kek.bin.keytab.1" ] && [ -e "$WORK/kek.bin.keytab.2" ] && [ -e "$WORK/kek.bin" ] \
	&& ok "the old table KEK file is gone, the new one and the volume KEK stay" || { not_ok "KEK files"; diag "$(ls "$WORK")"; }
rcheck "audit: a key record 'shred' with the file id and the new epoch, no name" "$AUD" \
	"any(r['op']=='shred' and r['from']=='$phi_fid' and r['to']=='keytab:2' and r['result']=='ok' for r in ev('key',tools)) and any(r['op']=='destroy-kek' for r in ev('key',tools)) and not any('$MNT' in json.dumps(r) for r in tools)"

# A snapshot from before the shred: restore warns that its table is stale;
# with the live table copied in, every file but the shredded one verifies.
out=$("$BK" -r "$REPO" restore latest --target "$WORK/r1" 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "destroyed by a later crypto-shredding" \
	&& ok "restore of a snapshot older than the shred warns: its key table's KEK was destroyed" || { not_ok "restore warning (rc=$rc)"; diag "$out"; }
out=$("$PHIFS" fsck "$WORK/r1" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "copy phifs.keytab" && ok "fsck of it refuses the old table, saying to copy the live one" || { not_ok "fsck old table (rc=$rc)"; diag "$out"; }
cp "$CIPHER/phifs.keytab" "$WORK/r1/phifs.keytab"
out=$("$PHIFS" fsck "$WORK/r1" 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "^1 shredded file" \
	&& ok "with the live table: the restore verifies clean, the shredded file counted as shredded" || { not_ok "fsck with live table (rc=$rc)"; diag "$out"; }

# The file made before enable-shred: shred rekeys it (a slot), then shreds it.
early_back="$CIPHER/$(backing_of "$MNT/early")"; cp "$early_back" "$WORK/early.copy"
out=$("$PHIFS_KEYS" shred "$CIPHER" "$MNT/early" 2>&1); rc=$?
[ $rc -eq 0 ] && [ ! -e "$MNT/early" ] && ok "a file from before enable-shred is rekeyed, then shredded" || { not_ok "early (rc=$rc)"; diag "$out"; }
# Both hard links in one run.
out=$("$PHIFS_KEYS" shred --json "$CIPHER" "$MNT/hl" "$MNT/hl2" 2>&1); rc=$?
[ $rc -eq 0 ] && [ ! -e "$MNT/hl" ] && [ ! -e "$MNT/hl2" ] && echo "$out" | grep -q '"slots_destroyed":1' \
	&& ok "two hard links of one file: one slot destroyed, both names gone" || { not_ok "hard links (rc=$rc)"; diag "$out"; }

# kill -9 at each step; a rerun completes.
n=0
for point in kek tmp rename destroy; do
	n=$((n + 1)); f="f$n"; fsha=$(sha "$MNT/$f")
	PHIFS_SHRED_TEST_KILL=$point "$PHIFS_KEYS" shred "$CIPHER" "$MNT/$f" >/dev/null 2>&1; rc=$?
	case $point in
	kek|tmp) [ "$(sha "$MNT/$f" 2>/dev/null)" = "$fsha" ] && state=readable || state=unreadable; want=readable ;;
	*) cat "$MNT/$f" >/dev/null 2>&1 && state=readable || state=unreadable; want=unreadable ;;
	esac
	"$PHIFS_KEYS" shred "$CIPHER" "$MNT/$f" > "$WORK/rerun" 2>&1; rc2=$?
	[ $rc -eq 137 ] && [ "$state" = "$want" ] && [ $rc2 -eq 0 ] && [ ! -e "$MNT/$f" ] \
		&& ok "killed at '$point': the file is $want, a rerun shreds and unlinks it" \
		|| { not_ok "kill at $point (rc=$rc, $state, rerun rc=$rc2)"; diag "$(cat "$WORK/rerun")"; }
done
epoch=$(ls "$WORK" | sed -n 's/^kek.bin.keytab.//p' | sort -n | tail -1)
[ "$(ls "$WORK" | grep -c '^kek.bin.keytab.')" = 1 ] && ok "after the reruns only the current epoch's KEK is left (epoch $epoch)" || { not_ok "KEK files"; diag "$(ls "$WORK")"; }
check "the files not shredded still read" sh -c "cat '$MNT'/f[5-9] '$MNT'/f[1-4][0-9] > /dev/null"

# Creates across epochs: 600 files while shredding others (slots reserved in
# batches of 256 must survive each new epoch); all read back after a remount.
$PY - "$MNT" <<'PYEOF' & cpid=$!
import os, sys
os.mkdir(os.path.join(sys.argv[1], "many"))
for i in range(600):
    with open(os.path.join(sys.argv[1], "many", "m%d" % i), "wb") as f:
        f.write((b"%d" % i) * (i + 1))
PYEOF
for i in 10 11 12 13 14 15; do "$PHIFS_KEYS" shred "$CIPHER" "$MNT/f$i" >/dev/null 2>&1 || diag "shred f$i failed"; done
wait "$cpid" && ok "600 creates while 6 shreds run" || not_ok "creates during shreds"
slots=$($PY - "$CIPHER" <<'PYEOF'
import os, struct, sys
d = os.path.join(sys.argv[1], [e for e in os.listdir(sys.argv[1]) if not e.startswith("phifs.") and os.path.isdir(os.path.join(sys.argv[1], e))][0])
s = []
for e in os.listdir(d):
    if e.startswith("phifs."):
        continue
    h = open(os.path.join(d, e), "rb").read(48)
    s.append(struct.unpack("<I", h[42:46])[0] if struct.unpack("<I", h[28:32])[0] & 4 else -1)
print(len(s), len(set(s)), min(s))
PYEOF
)
set -- $slots
[ "$1" = 600 ] && [ "$2" = 600 ] && [ "$3" -ge 0 ] && ok "the 600 files have 600 distinct slots" || not_ok "distinct slots ($slots)"
out=$("$PHIFS_KEYS" status --no-kms --json "$CIPHER" 2>&1)
echo "$out" | $PY -c 'import json,sys; g=json.load(sys.stdin)["data_key_generations"]; sys.exit(not (g["without_slot"]==0 and g["with_slot"]>=600 and g["keytab_epoch"]>=8))' \
	&& ok "status counts files per data-key generation (all with a slot; the table epoch)" || { not_ok "status generations"; diag "$out"; }
umount_volume && mount_volume || bail "cannot remount"
check "after a remount all 600 read back" $PY -c '
import os, sys
m = sys.argv[1]
sys.exit(any(open(os.path.join(m, "many", "m%d" % i), "rb").read() != (b"%d" % i) * (i + 1) for i in range(600)))' "$MNT"
check "the files not shredded still read after the remount" sh -c "cat '$MNT'/keep1 '$MNT'/f[5-9] '$MNT'/f16 > /dev/null"
# phifs lock wipes the table key with the volume keys; after unlock it is
# loaded again (from its KEK) and files with slots read.
k16=$(sha "$MNT/f16")
"$PHIFS" lock "$CIPHER" >/dev/null 2>&1 && "$PHIFS" unlock --timeout 30s "$CIPHER" >/dev/null 2>&1 \
	&& eventually sh -c "test \"\$(sha256sum < '$MNT/f16' | cut -d' ' -f1)\" = $k16" && echo new > "$MNT/after-lock" \
	&& ok "lock, then unlock: files with key-table slots read again, creates work" || not_ok "lock/unlock with a key table"
"$PHIFS" lock "$CIPHER" >/dev/null 2>&1    # no volume key left in the keyring
umount_volume

# fsck: a shredded file put back (from a backup) is reported as shredded.
cp "$WORK/phi.copy" "$CIPHER/$(basename "$phi_back")"
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
echo "$out" | grep -q "shredded" && ! echo "$out" | grep -qi "corrupt" \
	&& ok "fsck reports a restored shredded file as shredded, not as corruption" || { not_ok "fsck shredded (rc=$rc)"; diag "$out"; }
rm -f "$CIPHER/$(basename "$phi_back")"
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "fsck is clean without it" || { not_ok "fsck (rc=$rc)"; diag "$out"; }
epoch=$(ls "$WORK" | sed -n 's/^kek.bin.keytab.//p' | sort -n | tail -1)
out=$("$PHIFS" info "$CIPHER" 2>&1)
echo "$out" | grep -q "key table:.*epoch $epoch" && ok "phifs info shows the key table's epoch" || { not_ok "info"; diag "$out"; }
# An old table put back: the mount refuses, saying what to do.
cp "$CIPHER/phifs.keytab" "$WORK/cur.keytab"; cp "$WORK/oldtab/phifs.keytab" "$CIPHER/phifs.keytab"
out=$(mount_volume 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "destroyed" && echo "$out" | grep -q "copy phifs.keytab" \
	&& ok "a mount with an old table copy is refused: its KEK was destroyed, copy the live table" || { not_ok "old table mount (rc=$rc)"; diag "$out"; }
mountpoint -q "$MNT" && umount_volume
cp "$WORK/cur.keytab" "$CIPHER/phifs.keytab"
# Passphrase volumes cannot destroy a table key: refused with a message.
echo "correct horse" > "$WORK/pass"
"$PHIFS" init --kms passphrase --passfile "$WORK/pass" "$WORK/pv" >/dev/null 2>&1 || mkdir -p "$WORK/pv"
out=$("$PHIFS_KEYS" enable-shred --passfile "$WORK/pass" "$WORK/pv" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "passphrase volume has none" && [ ! -e "$WORK/pv/phifs.keytab" ] \
	&& ok "enable-shred on a passphrase volume is refused with a clear message" || { not_ok "passphrase (rc=$rc)"; diag "$out"; }
# The key table composes with per-file KMS mode (wrap kind 2): the KMS wraps
# the header key, the slot secret is mixed in after.
CIPHER="$WORK/v5"
"$PHIFS" init --wrap per-file-kms --shred --kms "local:$WORK/kek5.bin" "$CIPHER" >/dev/null 2>&1 && mount_volume \
	|| bail "cannot init/mount a per-file KMS volume with a key table"
head -c 9000 /dev/urandom > "$MNT/p"; head -c 5000 /dev/urandom > "$MNT/q"; qsha=$(sha "$MNT/q")
pb="$CIPHER/$(backing_of "$MNT/p")"; cp "$pb" "$WORK/p.copy"
kind=$(od -An -tu1 -j7 -N1 "$pb" | tr -d ' '); flags=$(od -An -tu4 -j28 -N4 "$pb" | tr -d ' ')
[ "$kind" = 2 ] && [ $((flags & 4)) -eq 4 ] && ok "per-file KMS volume: headers are wrap kind 2 with the KEYTAB flag" || not_ok "kind 2 + KEYTAB (kind=$kind flags=$flags)"
out=$("$PHIFS_KEYS" shred "$CIPHER" "$MNT/p" 2>&1); rc=$?
[ $rc -eq 0 ] && [ ! -e "$MNT/p" ] && [ "$(sha "$MNT/q")" = "$qsha" ] && ok "shred in a per-file KMS volume: gone, the other file intact" || { not_ok "shred kind 2 (rc=$rc)"; diag "$out"; }
out=$("$DEC" "$CIPHER" "$CIPHER" "$WORK/p.copy" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -qi revoked && ok "its copy does not decrypt although the KMS still unwraps its header key" || { not_ok "kind 2 copy (rc=$rc)"; diag "$out"; }
umount_volume

# phifs init --shred: the key table from the start.
out=$("$PHIFS" init --shred --kms "local:$WORK/kek2.bin" "$WORK/v2" 2>&1); rc=$?
[ $rc -eq 0 ] && "$PHIFS" info "$WORK/v2" | grep -q "key table:.*epoch 1" && [ -e "$WORK/kek2.bin.keytab.1" ] \
	&& ok "init --shred creates the volume with its key table (epoch 1, own KEK)" || { not_ok "init --shred (rc=$rc)"; diag "$out"; }
out=$("$PHIFS" init --shred --kms passphrase --passfile "$WORK/pass" "$WORK/v3" 2>&1); rc=$?
[ $rc -eq 2 ] && [ ! -e "$WORK/v3/phifs.conf" ] && ok "init --shred with a passphrase is refused before anything is made (exit 2)" || { not_ok "init --shred passphrase (rc=$rc)"; diag "$out"; }
finish
