# chglib.sh: what the change-record backup tests share (sourced after lib.sh
# by backup-changes.sh and backup-held-open.sh): the backup's --json stats,
# the backing file of a plaintext name, and the record's WRITING flag.
PY=/usr/bin/python3
BK="$top_builddir/tools/phifs-backup/phifs-backup"
CHUNK=1048512            # 254 GCM slots (BACKUP_FORMAT.md §6.1)
stat_of() { $PY -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["stats"][sys.argv[1]])' "$1"; }
snap_of() { $PY -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["snapshot"])'; }
backup() { "$BK" backup --json "$@" "$CIPHER" 2>"$WORK/bk.err" | tail -1; }
# chg_flag FILE: the WRITING bit of its change record (empty: no record)
chg_flag() { getfattr --only-values -n user.phifs.chg "$1" 2>/dev/null | od -An -tu1 -j5 -N1 | tr -d ' '; }
# settled FILE: its change record is complete (FUSE sends the release that
# stores it after close() returns); used with lib.sh's eventually
settled() { [ "$(chg_flag "$1")" = 0 ]; }
backing() { $PY - "$MNT" "$CIPHER" "$1" <<'PYEOF'
import os, sys
# the backing file of a plaintext name: the one whose inode the mount reports
mnt, cipher, name = sys.argv[1:]
ino = os.stat(os.path.join(mnt, name)).st_ino
for d, _, fs in os.walk(cipher):
    for f in fs:
        if os.lstat(os.path.join(d, f)).st_ino == ino:
            print(os.path.join(d, f)); sys.exit(0)
sys.exit(1)
PYEOF
}
# restored_as_written N...: each snapshot $S<N> restored, mounted and read:
# prints the numbers whose manifest differs from $WORK/m<N> (nothing: all equal)
restored_as_written() {
	local n snap bad=""
	for n in "$@"; do
		eval "snap=\$S$n"
		rm -rf "$WORK/r"
		if "$BK" restore "$snap" --target "$WORK/r" >/dev/null 2>&1 && CIPHER="$WORK/r" mount_volume; then
			manifest "$MNT" > "$WORK/r$n.m"
			umount_volume
			cmp -s "$WORK/m$n" "$WORK/r$n.m" || bad="$bad $n"
		else
			bad="$bad restore-$n"
		fi
	done
	echo "$bad"
}
