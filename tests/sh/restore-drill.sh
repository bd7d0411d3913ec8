#!/usr/bin/env bash
# restore-drill.sh: scripts/restore-test.sh, the quarterly restore drill, on
# a real mounted volume and repository: a fresh snapshot restores, mounts and
# matches the live volume (exit 0, JSON counts); files changed or deleted on
# the live volume after the snapshot are reported as such, not failures; a
# restored file that differs from an unchanged live one fails the drill
# (exit 1) without printing its name unless --show-paths.
. "$(dirname "$0")/lib.sh"
setup
plan 5
DRILL="$top_srcdir/scripts/restore-test.sh"
export PHIFS="$PHIFS" PHIFS_BACKUP="$top_builddir/tools/phifs-backup/phifs-backup"
REPO="$WORK/repo"
init_volume || bail "cannot init"
mount_volume || bail "cannot mount"
mkdir -p "$MNT/ward-7"
for i in $(seq 20); do head -c $((i * 3000)) /dev/urandom > "$MNT/ward-7/PatientDoe-$i.txt"; done
"$PHIFS_BACKUP" -r "$REPO" init --kms "local:$WORK/repo.key" >/dev/null || bail "repo init"
sleep 1.1   # the files are older than the snapshot's second
"$PHIFS_BACKUP" -r "$REPO" backup "$CIPHER" >/dev/null || bail "backup"

run() { rc=0; out=$("$@" 2>"$WORK/err") || rc=$?; }
run bash "$DRILL" -r "$REPO" --live "$MNT" --json --scratch "$WORK/s1" --audit "$WORK/drill-audit"
[ $rc -eq 0 ] && echo "$out" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(not (r["ok"] and r["files"] == 20 and r["matched"] == 20))' \
	&& ok "a fresh snapshot restores, mounts and matches the live volume (20 of 20)" || { not_ok "drill (rc=$rc)"; diag "$out"; sed 's/^/# /' "$WORK/err"; }
# phifs umount waits for the daemon, so its last records are on disk (the
# restored volume has no journal: its cipher dir carries the volume lock).
! mountpoint -q "$WORK/s1/mnt" && rq "$WORK/drill-audit" 'len(ev("open")) >= 20 and E[-2:] == ["unmount", "audit-stop"]' \
	&& ok "the restored volume is unmounted afterwards; the drill's reads were audited" || not_ok "still mounted, or no audit records"

sleep 1.1   # later than the snapshot's second
echo changed >> "$MNT/ward-7/PatientDoe-3.txt"
rm "$MNT/ward-7/PatientDoe-4.txt"
run bash "$DRILL" -r "$REPO" --live "$MNT" --json --audit "$WORK/drill-audit"
[ $rc -eq 0 ] && echo "$out" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(not (r["ok"] and r["changed_since"] == 1 and r["deleted_since"] == 1 and r["matched"] == 18))' \
	&& ok "later changes and deletions are reported, not failures" || { not_ok "changes since (rc=$rc)"; diag "$out"; }

# A live file that differs although it is older than the snapshot: the
# restore does not reproduce what was there — the drill fails.
head -c 3000 /dev/urandom > "$MNT/ward-7/PatientDoe-1.txt"
touch -d '2001-01-01' "$MNT/ward-7/PatientDoe-1.txt"
run bash "$DRILL" -r "$REPO" --live "$MNT" --audit "$WORK/drill-audit"
[ $rc -eq 1 ] && echo "$out" | grep -q "FAILED" && ! echo "$out" | grep -q PatientDoe \
	&& ok "a difference fails the drill (exit 1), no file name printed" || { not_ok "difference (rc=$rc)"; diag "$out"; }
run bash "$DRILL" -r "$REPO" --live "$MNT" --show-paths --audit "$WORK/drill-audit"
echo "$out" | grep -q "mismatched: /ward-7/PatientDoe-1.txt" && ok "--show-paths names it for the operator" \
	|| { not_ok "--show-paths"; diag "$out"; }
umount_volume
finish
