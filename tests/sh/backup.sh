#!/usr/bin/env bash
# backup.sh: phifs-backup on a mounted volume, run by an unprivileged user
# that can only read the cipher directory (docs/OPERATIONS.md "Backup"):
# full backup, ~1% change, incremental backup that stores only the changed
# chunks, restore of each snapshot mounted and compared with what was written
# at that time; kill -9 in the middle of backups (check passes, the re-run
# completes); a corrupted and a deleted pack are named by check; forget keeps
# what its policy and the retention floor keep, prune reclaims the rest;
# locks held by a live job refuse a second one, stale ones do not; restore
# by plaintext path with the volume key.
. "$(dirname "$0")/lib.sh"
setup
plan 39
PY=/usr/bin/python3
BK="$top_builddir/tools/phifs-backup/phifs-backup"
BKUSER=phifsbk
id "$BKUSER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$BKUSER" \
	|| bail "cannot create user $BKUSER"
mkdir -p "$WORK/bk" && chown "$BKUSER:" "$WORK/bk"
REPO="$WORK/bk/repo"
# The backup user: its own uid and group, nothing else.
asbk() { setpriv --reuid="$BKUSER" --regid="$BKUSER" --init-groups env PHIFS_REPO="$REPO" "$BK" "$@"; }
json_field() { $PY -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(eval("d"+sys.argv[1]))' "$1"; }

init_volume && mount_volume || bail "cannot mount"
$PY - "$MNT" <<'PYEOF' || bail "cannot write the data"
import os, sys, random
mnt = sys.argv[1]; rnd = random.Random(5)
for d in range(5):
    os.mkdir(os.path.join(mnt, "d%d" % d))
    for i in range(20):
        with open(os.path.join(mnt, "d%d" % d, "f%d" % i), "wb") as f:
            f.write(rnd.randbytes(rnd.choice([0, 1, 4095, 4096, 4097, 50000, 100000])))
for name in ("big1", "big2"):
    with open(os.path.join(mnt, name), "wb") as f:
        f.write(os.urandom(8 << 20))
with open(os.path.join(mnt, "sparse"), "wb") as f:
    f.write(b"head"); f.seek(3 << 20); f.write(b"tail")
with open(os.path.join(mnt, "one-byte"), "wb") as f:
    f.write(b"x")
os.setxattr(os.path.join(mnt, "one-byte"), "user.patient", b"MRN-0042")
os.symlink("big1", os.path.join(mnt, "lnk"))
os.link(os.path.join(mnt, "big2"), os.path.join(mnt, "d0", "hl"))
PYEOF
manifest "$MNT" > "$WORK/m1"
# Read access to the ciphertext only: group read on the cipher dir, setgid
# directories so new entries get the group; phifs makes directory ids 0600,
# so new ones are granted read (docs/OPERATIONS.md "The backup user").
chgrp -R "$BKUSER" "$CIPHER" && chmod -R g+rX "$CIPHER" && find "$CIPHER" -type d -exec chmod g+s {} +
grant() { find "$CIPHER" -name phifs.dirid ! -perm -g=r -exec chmod g+r {} +; }

out=$(asbk init --kms "local:$WORK/bk/repo.key" --min-retention 0 2>&1)
check "init as the unprivileged user (key file made, mode 0600)" test "$(stat -c %a "$WORK/bk/repo.key")" = 600
check_fails "a second init in the same place is refused" asbk init --kms "local:$WORK/bk/repo.key"
out=$(asbk backup "$CIPHER" 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && ok "full backup as $BKUSER, quiet without a terminal" \
	|| { not_ok "full backup"; diag "$out"; }
asbk snapshots --json > "$WORK/s1.json"
S1=$(json_field '["id"]' < "$WORK/s1.json")
total=$(du -sb "$REPO/data" | cut -f1)
[ "$total" -gt $((16 << 20)) ] && ok "the repository holds the volume's data ($total bytes)" || not_ok "repository size $total"
grep -rqa "MRN-0042" "$REPO" && not_ok "xattr plaintext found in the repository" || ok "no plaintext xattr value in the repository"

# ~1% change: one block of an 8 MiB file, a few bytes appended to a small one.
$PY - "$MNT" <<'PYEOF'
import os, sys
with open(os.path.join(sys.argv[1], "big1"), "r+b") as f:
    f.seek(3 << 20); f.write(os.urandom(4096))
with open(os.path.join(sys.argv[1], "d1", "f3"), "ab") as f:
    f.write(b"appended")
PYEOF
manifest "$MNT" > "$WORK/m2"
out=$(asbk backup --json "$CIPHER" 2>&1) || diag "$out"
S2=$(echo "$out" | json_field '["snapshot"]')
read_files=$(echo "$out" | json_field '["stats"]["files_read"]')
new_blobs=$(echo "$out" | json_field '["stats"]["new_blobs"]')
new_bytes=$(echo "$out" | json_field '["stats"]["new_bytes"]')
diag "incremental: files read $read_files, new blobs $new_blobs, new bytes $new_bytes"
[ "$read_files" -le 2 ] && ok "incremental backup re-read only the changed files ($read_files)" || not_ok "files read: $read_files"
# one re-sealed slot → one ≤1 MiB chunk; the appended file's last chunk; the tree
[ "$new_blobs" -le 4 ] && [ "$new_bytes" -lt $((2 << 20)) ] \
	&& ok "only the changed chunks were stored ($new_blobs blobs, $new_bytes bytes)" \
	|| not_ok "incremental stored $new_blobs blobs, $new_bytes bytes"
[ "$(asbk snapshots --json | wc -l)" -eq 2 ] && ok "two snapshots listed" || not_ok "snapshot count"
asbk ls "$S2" | grep -q "phifs.conf" && ok "ls lists backing names (phifs.conf)" || not_ok "ls"
asbk ls "$S2" | grep -q "phifs.journal" && not_ok "phifs.journal/ was backed up" || ok "phifs.journal/ is not backed up"

# A job that holds the lock (live pid on this host) refuses a second one; a dead pid is stale.
host=$(hostname)
echo "{\"host\":\"$host\",\"pid\":$$,\"time\":$(date +%s),\"exclusive\":true}" > "$REPO/locks/00000000000000000000000000000001"
asbk backup "$CIPHER" >/dev/null 2>&1; rc=$?
[ $rc -eq 5 ] && ok "a live lock refuses a backup (exit 5)" || not_ok "live lock: exit $rc"
sh -c 'exit 0' & dead=$!; wait $dead
echo "{\"host\":\"$host\",\"pid\":$dead,\"time\":$(date +%s),\"exclusive\":true}" > "$REPO/locks/00000000000000000000000000000001"
check "a stale lock (dead pid) does not" asbk backup "$CIPHER"
check "the stale lock object was removed" test ! -e "$REPO/locks/00000000000000000000000000000001"
check "no lock object is left behind" test -z "$(ls "$REPO/locks")"

# A file the backup user cannot read: named by its backing path, left out, partial snapshot.
echo "not for the backup user" > "$MNT/d2/private" && chmod 600 "$MNT/d2/private"
asbk backup --json "$CIPHER" > "$WORK/p.json" 2> "$WORK/p.err"; rc=$?
[ $rc -eq 6 ] && [ "$(json_field '["partial"]' < "$WORK/p.json")" = True ] \
	&& ok "an unreadable file makes a partial snapshot (exit 6)" || { not_ok "unreadable file: exit $rc"; diag "$(cat "$WORK/p.err")"; }
grep -q "Permission denied" "$WORK/p.err" && ! grep -q private "$WORK/p.err" \
	&& ok "it is named by its backing path, not its plaintext name" || { not_ok "partial message"; diag "$(cat "$WORK/p.err")"; }
rm -f "$MNT/d2/private"

# kill -9 at the test points of the write order, then at an arbitrary moment.
dd if=/dev/urandom of="$MNT/big3" bs=1M count=40 2>/dev/null
chmod g+r "$CIPHER"/* 2>/dev/null
for point in after-data before-snapshot; do
	PHIFS_BACKUP_TEST_KILL=$point asbk backup "$CIPHER" >/dev/null 2>&1; rc=$?
	[ $rc -eq 137 ] || diag "backup at $point exited $rc"
	check "check passes after kill -9 at $point" asbk check
done
# a simple command in the background: setpriv, env and phifs-backup exec in one pid
setpriv --reuid="$BKUSER" --regid="$BKUSER" --init-groups env PHIFS_REPO="$REPO" "$BK" backup "$CIPHER" \
	>/dev/null 2>&1 & bpid=$!
sleep 0.2; kill -9 $bpid 2>/dev/null; wait $bpid 2>/dev/null
check "check passes after kill -9 at an arbitrary moment" asbk check
out=$(asbk backup --json "$CIPHER" 2>&1)
[ $? -eq 0 ] && ok "the re-run completes" || { not_ok "re-run"; diag "$out"; }
check "check --read-data passes" asbk check --read-data
check "check --read-data-subset 10% passes" asbk check --read-data-subset 10%

# Backups while a writer appends to and truncates files: every file stored is whole.
start_writer 11
grant    # start_writer made w/ (and its 0600 directory id) before returning
# wait (up to 60 s) until the writer has made some files, so the backups race real writes
for _ in $(seq 600); do [ "$(ls "$MNT/w" | wc -l)" -ge 5 ] && break; sleep 0.1; done
codes=""
for i in 1 2 3; do
	asbk backup --json "$CIPHER" > "$WORK/w.json" 2>>"$WORK/w.err"; codes="$codes $?"
done
touch "$WORK/stop"; wait "$WPID"
SW=$(json_field '["snapshot"]' < "$WORK/w.json")
diag "backups during writes exited:$codes"; sort "$WORK/w.err" | uniq -c | head -5 | sed "s/^/# /"
echo "$codes" | grep -qv '[^ 06]' && ok "backups during writes succeed or report partial (0/6)" || not_ok "exit codes$codes"
umount_volume || bail "cannot unmount"

# Restore each snapshot, mount it with the original key, compare.
for n in 1 2; do
	eval "snap=\$S$n"
	out=$(asbk restore "$snap" --target "$WORK/bk/r$n" 2>&1)
	[ $? -eq 0 ] && ok "restore of snapshot $n" || { not_ok "restore of snapshot $n"; diag "$out"; }
	CIPHER="$WORK/bk/r$n" mount_volume || bail "cannot mount restored snapshot $n"
	manifest "$MNT" > "$WORK/r$n.m"
	umount_volume
	check "restored snapshot $n mounts with the original key and matches what was written then" \
		cmp "$WORK/m$n" "$WORK/r$n.m"
done
asbk restore "$SW" --target "$WORK/bk/r5" >/dev/null 2>&1
CIPHER="$WORK/bk/r5" mount_volume || bail "cannot mount the snapshot taken during writes"
nread=$($PY - "$MNT/w" <<'PYEOF'
import os, sys
n = 0
for f in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], f), "rb") as fh:
        fh.read()          # a torn copy fails here (EIO: bad tag or cut final block)
    n += 1
print(n)
PYEOF
)
umount_volume
[ "${nread:-0}" -gt 0 ] && ok "every file of the snapshot taken during writes reads back whole ($nread files)" \
	|| not_ok "reading the snapshot taken during writes: '$nread'"
check_fails "restore refuses a non-empty target" asbk restore latest --target "$WORK/bk/r1"
asbk restore latest --target "$WORK/bk/r3" --include phifs.conf >/dev/null 2>&1
[ -f "$WORK/bk/r3/phifs.conf" ] && [ "$(find "$WORK/bk/r3" -type f | wc -l)" -eq 2 ] \
	&& ok "--include selects backing paths (phifs.conf and the root dir id only)" || not_ok "--include"

# Damage: a corrupted pack and a deleted pack are named by check.
cp -a "$REPO" "$WORK/bk/bad"
pack=$(find "$WORK/bk/bad/data" -type f -size +1M | head -1)
printf 'X' | dd of="$pack" bs=1 seek=5000 conv=notrunc 2>/dev/null
out=$(PHIFS_REPO="$WORK/bk/bad" setpriv --reuid="$BKUSER" --regid="$BKUSER" --init-groups "$BK" check --read-data 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "${pack#"$WORK/bk/bad/"}" && ok "a corrupted pack fails check and is named" \
	|| { not_ok "corrupted pack: exit $rc"; diag "$out"; }
rm -f "$pack"
out=$(PHIFS_REPO="$WORK/bk/bad" setpriv --reuid="$BKUSER" --regid="$BKUSER" --init-groups "$BK" check 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "${pack#"$WORK/bk/bad/"}: pack missing" && ok "a deleted pack fails check and is named" \
	|| { not_ok "deleted pack: exit $rc"; diag "$out"; }

# forget/prune: ten daily snapshots, a 5-day retention floor, keep 2 daily.
CIPHER="$WORK/cipher"; mount_volume || bail "cannot remount"
REPO="$WORK/bk/repo2"
asbk init --kms "local:$WORK/bk/repo.key" --min-retention 5d >/dev/null
T0=1700000000
for day in 0 1 2 3 4 5 6 7 8 9; do
	head -c 300000 /dev/urandom > "$MNT/rot"
	PHIFS_BACKUP_NOW=$((T0 + day * 86400)) asbk backup "$CIPHER" >/dev/null 2>"$WORK/day.err" || diag "day $day backup failed: $(head -2 "$WORK/day.err")"
done
PHIFS_BACKUP_NOW=$((T0 + 9 * 86400)) asbk forget --keep-within 1d >/dev/null
[ "$(asbk snapshots --json | wc -l)" -eq 5 ] && ok "forget never drops a snapshot inside the retention floor" || not_ok "floor"
PHIFS_BACKUP_NOW=$((T0 + 30 * 86400)) asbk forget --keep-daily 2 --json > "$WORK/forget.json"
times=$(asbk snapshots --json | $PY -c 'import json,sys; print(" ".join(str((json.loads(l)["time"]-1700000000)//86400) for l in sys.stdin))')
[ "$times" = "8 9" ] && ok "forget --keep-daily 2 keeps the newest two days ($times)" || not_ok "kept days: $times"
out=$(asbk prune --json 2>&1)
deleted=$(echo "$out" | json_field '["deleted"]')
[ "$deleted" -ge 8 ] && ok "prune deleted the packs only forgotten snapshots used ($deleted)" || { not_ok "prune"; diag "$out"; }
check "check --read-data passes after prune" asbk check --read-data

# restore --path: plaintext paths, mapped with the volume key (root: its key file).
export PHIFS_REPO="$WORK/repo3"
"$BK" init --kms "local:$WORK/repo3.key" --min-retention 0 >/dev/null && "$BK" backup "$CIPHER" >/dev/null
umount_volume
out=$("$BK" restore latest --target "$WORK/r4" --path d1/f3 --path one-byte 2>&1)
[ $? -eq 0 ] && ok "restore --path with the volume key" || { not_ok "restore --path"; diag "$out"; }
echo "$out" | grep -q "f3\|one-byte" && not_ok "a plaintext path was printed" || ok "no plaintext path printed"
CIPHER="$WORK/r4" mount_volume || bail "cannot mount the --path restore"
manifest "$MNT" | grep '^f ' > "$WORK/r4.m"
grep -E '^f \./(d1/f3|one-byte) ' "$WORK/m2" > "$WORK/r4.want"
check "exactly the selected files are restored, byte-identical" cmp "$WORK/r4.want" "$WORK/r4.m"
umount_volume
finish
