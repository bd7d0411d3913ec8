#!/usr/bin/env bash
# backup-held-open.sh: a file held open and written for a long time (a
# database) still gets its change record stored, every chg_interval
# (docs/FORMAT.md §7.1 rule 3, fs/chglog_tick.c), so a backup taken while it
# is open reads only the chunks written since the parent snapshot; and a
# daemon killed after a write but before the next store leaves the record
# "being written", so the next backup reads the file whole and the restored
# bytes are the ones written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
trap 'exec 3>&- 2>/dev/null; teardown' EXIT
plan 8
export PHIFS_REPO="$WORK/repo"
# put BLOCK...: new random 4 KiB at each plaintext block through fd 3, the
# handle this shell holds open (the child's close of its copy sends no release)
put() {
	$PY - "$@" <<'PYEOF'
import os, sys
for b in sys.argv[1:]:
    os.pwrite(3, os.urandom(4096), int(b) * 4096)
PYEOF
}

init_volume && mount_volume -o chg_interval=2s || bail "cannot mount"
head -c $((16 << 20)) /dev/urandom > "$MNT/db"
B=$(backing db) || bail "backing file not found"
eventually settled "$B" || diag "db's record still open after close"
"$BK" init --kms "local:$WORK/bk.key" --min-retention 0 >/dev/null || bail "init"
out=$(backup); S1=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of bytes_read)" -ge $((16 << 20)) ] && ok "the first backup reads the file whole" || not_ok "full: $out"

# held open by this shell; written through that handle at three chunks
exec 3<>"$MNT/db" || bail "cannot open db"
put 100 2000 3500
manifest "$MNT" > "$WORK/m2"
eventually settled "$B" && ok "the record of the file held open was stored by the periodic store" \
	|| not_ok "record flag $(chg_flag "$B") after 30 s"
out=$(backup); S2=$(echo "$out" | snap_of)
diag "held open: $out"
read2=$(echo "$out" | stat_of bytes_read)
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && [ "$read2" -le $((3 * CHUNK + 4096)) ] \
	&& ok "a backup while it is still open reads only the 3 written chunks ($read2 bytes)" || not_ok "held open: $out"
[ -e /proc/$$/fd/3 ] && ok "the file was open all along" || not_ok "fd 3 closed"

# a second generation in the same open: stored again, read by its record again
put 1500
manifest "$MNT" > "$WORK/m3"
eventually settled "$B" || diag "second generation not stored"
out=$(backup); S3=$(echo "$out" | snap_of)
[ "$(echo "$out" | stat_of files_partial)" -eq 1 ] && [ "$(echo "$out" | stat_of bytes_read)" -le $((CHUNK + 4096)) ] \
	&& ok "the next generation of the open file is read by its record too" || not_ok "second generation: $out"
exec 3>&-
umount_volume || bail "umount"

# kill -9 after a write, before any store (an interval of an hour)
mount_volume -o chg_interval=1h || bail "remount"
exec 3<>"$MNT/db" || bail "cannot open db"
put 10 2500
manifest "$MNT" > "$WORK/m4"
[ "$(chg_flag "$B")" = 1 ] && ok "after the write the record says \"being written\"" || not_ok "flag $(chg_flag "$B")"
dpid=$(daemon_pid); kill -9 "$dpid"
wait_gone "$dpid" 300 || diag "daemon $dpid still exiting after 30 s"
exec 3>&-
umount -l "$MNT" 2>/dev/null; fusermount3 -uz "$MNT" 2>/dev/null
rm -f "$WORK/phifs.pid"
out=$(backup); S4=$(echo "$out" | snap_of)
diag "after kill -9: $out"
[ "$(echo "$out" | stat_of files_partial)" -eq 0 ] && [ "$(echo "$out" | stat_of bytes_read)" -ge $((16 << 20)) ] \
	&& ok "after a kill before the store the file is read whole" || not_ok "after kill: $out"

# each snapshot restores to what was written at its time
bad=$(restored_as_written 2 3 4)
[ -z "$bad" ] && ok "snapshots 2-4 restore to the bytes written then" || not_ok "differ:$bad"
finish
