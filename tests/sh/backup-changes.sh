#!/usr/bin/env bash
# backup-changes.sh: incremental backups that read only what the mounted
# volume's change records (docs/FORMAT.md §7.1) say was written since the
# parent snapshot (docs/BACKUP_FORMAT.md §7.1), and that fall back to reading
# a file whole whenever the record cannot vouch for it: blocks overwritten at
# scattered places through the mount → only their slots are read, as
# patches (by the backup's JSON stats), with and without an unmount in between; each snapshot
# restored, mounted and compared with what was written then; a ciphertext
# block rewritten behind phifs's back (dd) and an online rekey → the file is
# read whole and the snapshot holds the exact backing bytes; --full-read.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
plan 18
PHIFS_KEYS="$top_builddir/tools/phifs-keys/phifs-keys"
export PHIFS_REPO="$WORK/repo"
# overwrite FILE BLOCK...: new random 4 KiB at each plaintext block, through
# the mount, one open/close each (a burst of generations, and opens racing
# the previous handle's release)
overwrite() {
	$PY - "$MNT/$1" "${@:2}" <<'PYEOF'
import os, sys
for b in sys.argv[2:]:
    with open(sys.argv[1], "r+b") as f:
        f.seek(int(b) * 4096); f.write(os.urandom(4096))
PYEOF
}

init_volume && mount_volume || bail "cannot mount"
for f in big1 big2; do head -c $((32 << 20)) /dev/urandom > "$MNT/$f"; done
echo small > "$MNT/small"
B1=$(backing big1) && B2=$(backing big2) || bail "backing files not found"
manifest "$MNT" > "$WORK/m1"
"$BK" init --kms "local:$WORK/bk.key" --min-retention 0 >/dev/null || bail "init"
# a second repository with 16 KiB chunks (3 slots): what scattered writes cost there
"$BK" -r "$WORK/repo16" init --kms "local:$WORK/bk.key" --min-retention 0 --chunk-size 16K >/dev/null || bail "init 16K"
PHIFS_REPO="$WORK/repo16" backup >/dev/null
out=$(backup); S1=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of bytes_read)" -gt $((64 << 20)) ] && ok "full backup reads everything" || not_ok "full: $out"

# 4 blocks in 4 different chunks of big1, the file closed but the volume mounted
overwrite big1 0 1000 5000 8000
manifest "$MNT" > "$WORK/m2"
eventually settled "$B1" || diag "big1's record still open"
out=$(backup); S2=$(echo "$out" | snap_of)
read2=$(echo "$out" | stat_of bytes_read)
diag "scattered: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && ok "the changed file was read by its change record" || not_ok "files_partial: $out"
# header + the 4 written slots as patches (BACKUP_FORMAT.md §6.3), nothing
# else (big2 and small are unchanged)
[ "$read2" -eq $((176 + 4 * 4128)) ] && [ "$(echo "$out" | stat_of patches)" -eq 4 ] \
	&& ok "only the 4 written slots were read ($read2 bytes, not 32 MiB)" || not_ok "bytes read $read2"
[ "$(echo "$out" | stat_of bytes_skipped)" -ge $((27 * CHUNK)) ] && ok "the other chunks were taken from the parent" || not_ok "skipped: $out"
out=$(PHIFS_REPO="$WORK/repo16" backup)
[ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + 4 * 3 * 4128)) ] && [ "$(echo "$out" | stat_of new_blobs)" -eq 5 ] \
	&& ok "with --chunk-size 16K: 4 chunks of 3 slots read, 4 stored (+ the tree)" || not_ok "16K chunks: $out"

# written, then unmounted: the record survives; the file grows by one chunk too
overwrite big2 300 301 7000
head -c 100000 /dev/urandom >> "$MNT/big2"
manifest "$MNT" > "$WORK/m3"
umount_volume || bail "umount"
out=$(backup); S3=$(echo "$out" | snap_of)
read3=$(echo "$out" | stat_of bytes_read)
diag "after umount: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && [ "$read3" -le $((4 * CHUNK + 4096)) ] \
	&& ok "after an unmount: only the written and the grown chunks were read ($read3 bytes)" || not_ok "after umount: $out"

# behind phifs's back: one ciphertext slot of big1 rewritten in place
dd if=/dev/urandom of="$B1" bs=4128 seek=4000 count=1 conv=notrunc status=none
out=$(backup); S4=$(echo "$out" | snap_of)
diag "after dd: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -ge $((32 << 20)) ] \
	&& ok "a file changed behind phifs's back is read whole" || not_ok "after dd: $out"
"$BK" restore "$S4" --target "$WORK/r4" >/dev/null 2>&1
check "the snapshot holds its exact backing bytes" cmp "$B1" "$WORK/r4/${B1#$CIPHER/}"
# put the original slot back, so the volume reads again (the tamper is in S4 only)
"$BK" restore "$S3" --target "$WORK/r3" >/dev/null 2>&1
cp "$WORK/r3/${B1#$CIPHER/}" "$B1"

# an online rekey rewrites every slot: the next backup reads the file whole
mount_volume || bail "remount"
out=$("$PHIFS_KEYS" rekey "$MNT/big2" 2>&1) || diag "rekey: $out"
manifest "$MNT" > "$WORK/m5"
eventually settled "$B2" || diag "big2's record still open"
out=$(backup); S5=$(echo "$out" | snap_of)
diag "after rekey: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -ge $((32 << 20)) ] \
	&& ok "a rekeyed file is read whole" || not_ok "after rekey: $out"

# and the chain resumes: one more write is read by its record again
overwrite big2 10
manifest "$MNT" > "$WORK/m6"
eventually settled "$B2" || diag "big2's record still open"
out=$(backup); S6=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && [ "$(echo "$out" | stat_of bytes_read)" -le $((2 * CHUNK)) ] \
	&& ok "after the rekey the next write is read by its record" || not_ok "after rekey + write: $out"
overwrite big2 20
out=$(backup --full-read)
[ "$(echo "$out" | stat_of files_partial)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -ge $((32 << 20)) ] \
	&& ok "--full-read ignores the records" || not_ok "--full-read: $out"
manifest "$MNT" > "$WORK/m7"; S7=$(echo "$out" | snap_of)
umount_volume || bail "umount"
check "check --read-data passes" "$BK" check --read-data

# every snapshot but the tampered one restores to what was written at its time
for n in 1 2 3 5 6 7; do
	eval "snap=\$S$n"
	rm -rf "$WORK/r"
	"$BK" restore "$snap" --target "$WORK/r" >/dev/null 2>&1 && CIPHER="$WORK/r" mount_volume || { not_ok "restore $n"; continue; }
	manifest "$MNT" > "$WORK/r$n.m"
	umount_volume
	check "snapshot $n restores to what was written then" cmp "$WORK/m$n" "$WORK/r$n.m"
done
finish
