#!/usr/bin/env bash
# backup-v1.sh: a version-1 repository (docs/BACKUP_FORMAT.md §11), made by
# phifs-backup before patches (tests/images/backup-repo-v1.tar.gz: `init
# --kms passphrase` and one backup of a small directory), still works: its
# snapshot lists, checks and restores to the bytes it was made from; new
# backups go into it without changing its config (it stays version 1), and
# scattered writes through a mounted volume are stored there as whole
# chunks, never as patches an older phifs-backup would misread; a config of
# an unknown version is refused with exit 4.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
plan 11
export PHIFS_BACKUP_PASSFILE="$top_srcdir/tests/images/passphrase"
export PHIFS_REPO="$WORK/repo"
tar -C "$WORK" -xzf "$top_srcdir/tests/images/backup-repo-v1.tar.gz" || bail "image"
cp "$WORK/repo/config" "$WORK/config.v1"

[ "$("$BK" snapshots --json | wc -l)" -eq 1 ] && ok "the version-1 snapshot is listed" || not_ok "snapshots"
check "check --read-data passes on the version-1 repository" "$BK" check --read-data
"$BK" restore latest --target "$WORK/r1" >/dev/null 2>&1
# the backed-up directory's name is src: the snapshot's root is its content
cmp -s "$WORK/src/data.bin" "$WORK/r1/data.bin" && cmp -s "$WORK/src/sub/notes.txt" "$WORK/r1/sub/notes.txt" \
	&& [ "$(readlink "$WORK/r1/link")" = sub/notes.txt ] && [ -p "$WORK/r1/fifo" ] \
	&& ok "it restores to the bytes it was made from" || not_ok "restore of the v1 snapshot"

# a backup of a mounted volume into it: whole chunks, no patches
init_volume && mount_volume || bail "cannot mount"
head -c $((4 << 20)) /dev/urandom > "$MNT/f"
B=$(backing f) || bail "backing file not found"
out=$(backup); S1=$(echo "$out" | snap_of)
[ -n "$S1" ] && ok "a new backup goes into the version-1 repository" || not_ok "backup: $out"
$PY - "$MNT/f" <<'PYEOF'
import os, sys
with open(sys.argv[1], "r+b") as f:
    for b in (3, 300, 700):
        f.seek(b * 4096); f.write(os.urandom(4096))
PYEOF
manifest "$MNT" > "$WORK/m2"
eventually settled "$B" || diag "the record is still open"
out=$(backup); S2=$(echo "$out" | snap_of)
diag "scattered into v1: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && ok "the change record is still used" || not_ok "partial: $out"
[ "$(echo "$out" | stat_of patches)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -ge $((3 * CHUNK)) ] \
	&& ok "written chunks are read and stored whole: no patches in a version-1 repository" || not_ok "v1: $out"
! "$BK" ls --json "$S2" | grep -q '"pa"' && ok "its tree has no patch list" || not_ok "a pa in a v1 tree"
umount_volume || bail "umount"
cmp -s "$WORK/config.v1" "$WORK/repo/config" && ok "the config is unchanged (still version 1)" || not_ok "config changed"
check "check --read-data passes after the new backups" "$BK" check --read-data
bad=$(restored_as_written 2)
[ -z "$bad" ] && ok "the new snapshot restores to what was written" || not_ok "restore:$bad"

# a config from a future version: refused, exit 4 (the MAC is not even needed)
cp -a "$WORK/repo" "$WORK/repo3"
sed -i '1s/"version":1,/"version":3,/' "$WORK/repo3/config"
"$BK" -r "$WORK/repo3" snapshots >/dev/null 2>&1
[ $? -eq 4 ] && ok "a repository of an unknown version is refused (exit 4)" || not_ok "version 3 opened"
finish
