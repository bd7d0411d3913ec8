#!/usr/bin/env bash
# backup-rotate.sh: a key rotation rewrites only file headers, and says so in
# each file's change record (docs/FORMAT.md §7.1 rule 6): the next backup
# reads just the 176-byte headers (online rotation, then offline), by the
# backup's --json bytes_read; a file whose record did not vouch for it before
# the rotation (changed behind phifs's back, or being written through the
# mount) is read whole; the next write through the mount continues the
# lineage; every snapshot restores, mounts and reads as written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
trap 'exec 3>&- 2>/dev/null; teardown' EXIT
plan 9
export PHIFS_REPO="$WORK/repo"
HDR=176
SLACK=$((64 << 10))      # the rotated config and the tree: far below one chunk
rotate() { "$PHIFS_KEYS" rotate-volume-key --audit off "$CIPHER" >"$WORK/rot.out" 2>&1; }
size() { stat -c %s "$1"; }

init_volume && mount_volume -o chg_interval=1h || bail "cannot mount"
for f in a b c held tamper; do head -c $((4 << 20)) /dev/urandom > "$MNT/$f"; done
echo small > "$MNT/small"
for f in a b c small held tamper; do
	eval "B_$f=\$(backing $f)" || bail "backing $f"
done
for f in "$B_a" "$B_b" "$B_c" "$B_small" "$B_held" "$B_tamper"; do
	eventually settled "$f" || diag "record of $f still open"
done
"$BK" init --kms "local:$WORK/bk.key" --min-retention 0 >/dev/null || bail "init"
out=$(backup); S1=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of bytes_read)" -ge $((20 << 20)) ] && ok "the first backup reads everything" || not_ok "full: $out"

# behind phifs's back: one slot of tamper rewritten with its own bytes (the
# content stays, the mtime moves: its record no longer matches)
dd if="$B_tamper" of="$WORK/slot" bs=4128 skip=100 count=1 status=none
dd if="$WORK/slot" of="$B_tamper" bs=4128 seek=100 count=1 conv=notrunc status=none
# through the mount, held open: a generation open (WRITING) during the rotation
exec 3<>"$MNT/held" || bail "open held"
$PY -c 'import os; os.pwrite(3, os.urandom(4096), 50 * 4096)'
rotate && ok "rotate-volume-key on the mounted volume" || { not_ok "rotate (online)"; diag "$(cat "$WORK/rot.out")"; }
[ "$(chg_flag "$B_held")" = 1 ] && ok "the record of the file being written is left as it was (WRITING)" \
	|| not_ok "held's flag $(chg_flag "$B_held")"
manifest "$MNT" > "$WORK/m2"
out=$(backup); S2=$(echo "$out" | snap_of)
diag "after the online rotation: $out"
whole=$(( $(size "$B_tamper") + $(size "$B_held") ))
read2=$(echo "$out" | stat_of bytes_read)
[ "$(echo "$out" | stat_of files_partial)" -eq 4 ] && [ "$read2" -ge "$whole" ] && [ "$read2" -le $((whole + 4 * HDR + SLACK)) ] \
	&& ok "after the online rotation: 4 files read by their header only, the 2 unvouched ones whole ($read2 bytes)" \
	|| not_ok "online rotation: read $read2, the two whole files $whole: $out"
exec 3>&-
umount_volume || bail "umount"

# offline (unmounted): the same; held was read whole without a trusted record,
# so it has nothing to build on and is read whole once more, as is tamper
rotate && ok "rotate-volume-key on the unmounted volume" || { not_ok "rotate (offline)"; diag "$(cat "$WORK/rot.out")"; }
out=$(backup); S3=$(echo "$out" | snap_of)
diag "after the offline rotation: $out"
whole=$(( $(size "$B_tamper") + $(size "$B_held") ))
read3=$(echo "$out" | stat_of bytes_read)
[ "$(echo "$out" | stat_of files_partial)" -eq 4 ] && [ "$read3" -le $((whole + 4 * HDR + SLACK)) ] \
	&& ok "after the offline rotation: 4 files read by their header only ($read3 bytes)" || not_ok "offline rotation: $out"

# the daemon continues the rotated record: one written block, one chunk read
mount_volume || bail "remount"
$PY -c 'import os,sys; f=open(sys.argv[1],"r+b"); f.seek(300*4096); f.write(os.urandom(4096))' "$MNT/a"
manifest "$MNT" > "$WORK/m4"
umount_volume || bail "umount"
out=$(backup); S4=$(echo "$out" | snap_of)
diag "a written after the rotations: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && [ "$(echo "$out" | stat_of bytes_read)" -le $((CHUNK + HDR + SLACK)) ] \
	&& ok "a write after the rotations is read by the record: one chunk" || not_ok "after rotations + write: $out"
check "check --read-data passes" "$BK" check --read-data

bad=$(restored_as_written 2 4)
[ -z "$bad" ] && ok "the snapshots after the rotations restore, mount and read as written" || not_ok "differ:$bad"
finish
