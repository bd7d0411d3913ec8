#!/usr/bin/env bash
# backup-patch.sh: patches (docs/BACKUP_FORMAT.md §6.3) — with the default
# 1 MiB chunks, scattered 4 KiB writes through the mount are stored as
# patches of their slots over the parent's chunks, not as whole chunks:
# counted from the backup's JSON stats and the snapshot's tree (ls --json);
# a write over an earlier patch replaces it; a chunk past 16 patches or 1/4
# patched slots is read whole again (rebase) and loses its patches; every
# snapshot restores (whole, and --include) to exactly what was written at its
# time; check --read-data passes; a damaged patch blob is found by check and
# fails the restore of the snapshots that use it; forget + prune keep the
# patch blobs the remaining snapshot needs; an unchanged file with patches
# keeps its entry, unread, in the next backup.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
plan 22
export PHIFS_REPO="$WORK/repo"
T0=1800000000
# overwrite FILE BLOCK...: new random 4 KiB at each plaintext block, through the mount
overwrite() {
	$PY - "$MNT/$1" "${@:2}" <<'PYEOF'
import os, sys
with open(sys.argv[1], "r+b") as f:
    for b in sys.argv[2:]:
        f.seek(int(b) * 4096); f.write(os.urandom(4096))
PYEOF
}
# step N: a backup as of day N (so that forget --keep-daily can tell them apart)
step() { PHIFS_BACKUP_NOW=$((T0 + $1 * 86400)) backup; }
# entry SNAP: the big file's tree line
entry() { "$BK" ls --json "$1" | $PY -c 'import json,sys
for l in sys.stdin:
    e = json.loads(l)
    if e["p"] == sys.argv[1]: print(l.strip())' "$REL"; }
# pa_count SNAP [FIRST LAST]: patches of the big file (with offsets in [FIRST, LAST) blocks' slots)
pa_count() { entry "$1" | $PY -c 'import json,sys
e = json.loads(sys.stdin.read()); a = sys.argv[1:]
lo, hi = (176 + int(a[0]) * 4128, 176 + int(a[1]) * 4128) if a else (0, 1 << 62)
print(sum(1 for p in e.get("pa", []) if lo <= p[0] < hi))' "${@:2}"; }
# pa_id SNAP BLOCK: the id of the patch starting at that block's slot
pa_id() { entry "$1" | $PY -c 'import json,sys
e = json.loads(sys.stdin.read()); off = 176 + int(sys.argv[1]) * 4128
print([p[2] for p in e.get("pa", []) if p[0] == off][0])' "$2"; }
chunks_of() { entry "$1" | $PY -c 'import json,sys; print(" ".join(json.loads(sys.stdin.read())["c"]))'; }

init_volume && mount_volume || bail "cannot mount"
head -c $((64 << 20)) /dev/urandom > "$MNT/big"     # 16384 blocks, 65 data chunks
echo small > "$MNT/small"
B1=$(backing big) || bail "backing file not found"
REL=${B1#$CIPHER/}
"$BK" init --kms "local:$WORK/bk.key" --min-retention 0 >/dev/null || bail "init"
manifest "$MNT" > "$WORK/m1"
out=$(step 1); S1=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of patches)" -eq 0 ] && ok "a full backup stores no patches" || not_ok "full: $out"

# round 1: 40 single blocks far apart, and 3 adjacent ones (one patch of 3 slots)
ls "$WORK/repo/data"/*/* | sort > "$WORK/packs.before"
overwrite big $(seq 7 400 15607) 5001 5002 5003
manifest "$MNT" > "$WORK/m2"
eventually settled "$B1" || diag "the record is still open"
out=$(step 2); S2=$(echo "$out" | snap_of)
diag "round 1: $out"
[ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + 43 * 4128)) ] && [ "$(echo "$out" | stat_of patches)" -eq 41 ] \
	&& ok "43 written slots read as 41 patches (header + $((43 * 4128)) bytes, not 64 MiB)" || not_ok "round 1: $out"
[ "$(echo "$out" | stat_of new_blobs)" -le 43 ] && [ "$(echo "$out" | stat_of new_bytes)" -le $((43 * 4128 + 65536)) ] \
	&& ok "only the patches (and the tree) were stored" || not_ok "stored: $out"
[ "$(chunks_of "$S2")" = "$(chunks_of "$S1")" ] && [ "$(pa_count "$S2")" -eq 41 ] \
	&& ok "the tree keeps the parent's chunks and lists 41 patches" || not_ok "tree: $(entry "$S2" | head -c 300)"
ls "$WORK/repo/data"/*/* | sort > "$WORK/packs.after"

# round 2: over an earlier patch (block 407), and 10 new ones in chunk 4 (blocks 762..1015)
old407=$(pa_id "$S2" 407)
overwrite big 407 $(seq 770 10 860)
manifest "$MNT" > "$WORK/m3"
eventually settled "$B1" || diag "the record is still open"
out=$(step 3); S3=$(echo "$out" | snap_of)
diag "round 2: $out"
[ "$(echo "$out" | stat_of patches)" -eq 11 ] && [ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + 11 * 4128)) ] \
	&& ok "11 written slots read as 11 patches" || not_ok "round 2: $out"
[ "$(pa_count "$S3")" -eq 51 ] && [ "$(pa_id "$S3" 407)" != "$old407" ] \
	&& ok "a write over a patch replaces it (51 patches)" || not_ok "replace: $(pa_count "$S3")"

# round 3: 10 more in chunk 4 → 21 patches there > 16: the chunk is read whole
overwrite big $(seq 775 10 865)
manifest "$MNT" > "$WORK/m4"
eventually settled "$B1" || diag "the record is still open"
out=$(step 4); S4=$(echo "$out" | snap_of)
diag "round 3: $out"
[ "$(echo "$out" | stat_of patches)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + CHUNK)) ] \
	&& ok "past 16 patches the chunk is read whole (rebase)" || not_ok "rebase by count: $out"
[ "$(pa_count "$S4" 762 1016)" -eq 0 ] && [ "$(pa_count "$S4")" -eq 40 ] \
	&& ok "the rebased chunk lost its patches, the others kept theirs" || not_ok "after rebase: $(pa_count "$S4")"

# round 4: 70 adjacent slots in chunk 10 (blocks 2286..2539) > 1/4 of it: rebase
overwrite big $(seq 2300 2369)
manifest "$MNT" > "$WORK/m5"
eventually settled "$B1" || diag "the record is still open"
out=$(step 5); S5=$(echo "$out" | snap_of)
diag "round 4: $out"
[ "$(echo "$out" | stat_of patches)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + CHUNK)) ] \
	&& [ "$(pa_count "$S5" 2286 2540)" -eq 0 ] && [ "$(pa_count "$S5")" -eq 39 ] \
	&& ok "more than 1/4 of a chunk written: read whole, its patch dropped" || not_ok "rebase by size: $out"
umount_volume || bail "umount"

check "check --read-data passes" "$BK" check --read-data
bad=$(restored_as_written 1 2 3 4 5)
[ -z "$bad" ] && ok "every snapshot restores to what was written then" || not_ok "restores differ:$bad"
rm -rf "$WORK/ri"
"$BK" restore "$S5" --target "$WORK/ri" --include "$REL" >/dev/null 2>&1
check "restore --include gives the file's exact backing bytes" cmp "$B1" "$WORK/ri/$REL"
rm -rf "$WORK/ri"
"$BK" restore "$S3" --target "$WORK/ri" --include "$REL" >/dev/null 2>&1
"$BK" restore "$S3" --target "$WORK/r3" >/dev/null 2>&1
check "an older snapshot's file restores alone too" cmp "$WORK/r3/$REL" "$WORK/ri/$REL"

# a damaged patch blob, in a copy of the repository
cp -a "$WORK/repo" "$WORK/repo-bad"
pack=$(comm -13 "$WORK/packs.before" "$WORK/packs.after" | xargs ls -S | head -1)
[ -n "$pack" ] || bail "no pack from round 1"
pack="$WORK/repo-bad/${pack#$WORK/repo/}"
printf '\xff' | dd of="$pack" bs=1 seek=100 conv=notrunc status=none
check_fails "check --read-data finds the damaged patch" "$BK" -r "$WORK/repo-bad" check --read-data
rm -rf "$WORK/rb"
check_fails "a snapshot using the damaged patch does not restore" "$BK" -r "$WORK/repo-bad" restore "$S2" --target "$WORK/rb"
rm -rf "$WORK/rb"
check "a snapshot without patches still does" "$BK" -r "$WORK/repo-bad" restore "$S1" --target "$WORK/rb"

# forget all but the newest, prune: the patches it shares with older snapshots stay
PHIFS_BACKUP_NOW=$((T0 + 5 * 86400)) "$BK" forget --keep-daily 1 >/dev/null 2>&1
[ "$("$BK" snapshots --json | wc -l)" -eq 1 ] && ok "forget kept the newest snapshot only" || not_ok "forget"
out=$("$BK" prune --json 2>&1) || diag "prune: $out"
check "check --read-data passes after prune" "$BK" check --read-data
bad=$(restored_as_written 5)
[ -z "$bad" ] && ok "after prune the newest snapshot restores to what was written" || not_ok "after prune:$bad"

# --no-patches: a written chunk is read whole, as in a version-1 repository
mount_volume || bail "remount"
overwrite big 100
eventually settled "$B1" || diag "the record is still open"
out=$(step 6)
[ "$(echo "$out" | stat_of patches)" -eq 1 ] && ok "after prune the chain goes on with patches" || not_ok "step 6: $out"
# nothing written since: the file's entry, patches and all, is carried over as it is
S6=$(echo "$out" | snap_of)
out=$(PHIFS_BACKUP_NOW=$((T0 + 6 * 86400 + 3600)) backup)
[ "$(echo "$out" | stat_of files_read)" -eq 0 ] && [ "$(pa_count "$S6")" -gt 0 ] &&
	[ "$(entry "$S6")" = "$(entry "$(echo "$out" | snap_of)")" ] \
	&& ok "an unchanged file with patches is not read and keeps its entry" || not_ok "unchanged with patches: $out"
overwrite big 130
eventually settled "$B1" || diag "the record is still open"
out=$(PHIFS_BACKUP_NOW=$((T0 + 7 * 86400)) backup --no-patches)
[ "$(echo "$out" | stat_of patches)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -eq $((176 + CHUNK)) ] \
	&& ok "--no-patches reads the written chunk whole" || not_ok "--no-patches: $out"
umount_volume
finish
