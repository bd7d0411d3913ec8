#!/usr/bin/env bash
# backup-incr.sh: an incremental backup carries an unchanged file's entry
# over from its parent snapshot as it was (docs/BACKUP_FORMAT.md §7 step 3:
# the parent's tree line whole, tools/phifs-backup/repo_ptree.c) — every key,
# the chunk list, xattrs and change-record tags included — while a file
# appended to, a file whose mode changed and a new file are read; a backup
# with nothing changed reads nothing and lists exactly the same tree; and the
# incremental snapshot restores to the cipher directory's exact bytes, which
# mount with the original key and hold what was written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
plan 9
export PHIFS_REPO="$WORK/repo"

init_volume && mount_volume || bail "cannot mount"
$PY - "$MNT" <<'PYEOF' || bail "cannot write the data set"
import os, random, sys
mnt, rnd = sys.argv[1], random.Random(11)
for d in range(3):
    os.mkdir(os.path.join(mnt, "d%d" % d))
    for i in range(10):
        with open(os.path.join(mnt, "d%d" % d, "f%d" % i), "wb") as f:
            f.write(os.urandom(rnd.randrange(0, 30000)))
with open(os.path.join(mnt, "big"), "wb") as f:          # several chunks
    f.write(os.urandom(3 * 1048576 + 777))
open(os.path.join(mnt, "empty"), "wb").close()
with open(os.path.join(mnt, "tagged"), "wb") as f:
    f.write(b"x" * 5000)
os.setxattr(os.path.join(mnt, "tagged"), "user.patient", b"MRN-0042")
os.link(os.path.join(mnt, "big"), os.path.join(mnt, "d0", "big-link"))
os.symlink("big", os.path.join(mnt, "lnk"))
PYEOF
umount_volume || bail "umount"
"$BK" init --kms "local:$WORK/bk.key" --min-retention 0 >/dev/null || bail "backup init"
S1=$(backup | snap_of) || bail "first backup"
"$BK" ls --json "$S1" >"$WORK/l1" || bail "ls"

mount_volume || bail "mount"
echo "appended" >>"$MNT/d1/f3"
chmod 600 "$MNT/d2/f4"
head -c 7000 /dev/urandom >"$MNT/d0/new"
rel() { realpath --relative-to="$CIPHER" "$(backing "$1")"; }
appended=$(rel d1/f3) changed="$(rel d1/f3) $(rel d2/f4) $(rel d0/new)"
manifest "$MNT" >"$WORK/m2"
umount_volume || bail "umount"

out=$(backup)
S2=$(echo "$out" | snap_of)
"$BK" ls --json "$S2" >"$WORK/l2" || bail "ls"
check "the incremental read exactly the appended, the chmod'ed and the new file" \
	test "$(echo "$out" | stat_of files_read)" = 3
# carried WHAT: the number of file entries of l2 that are the same text in
# l1 (WHAT=same), or of the changed files' entries that differ (WHAT=changed)
carried() { $PY - "$WORK/l1" "$WORK/l2" "$1" $changed <<'PYEOF'
import json, sys
l1 = {json.loads(l)["p"]: l for l in open(sys.argv[1])}
l2 = {json.loads(l)["p"]: l for l in open(sys.argv[2])}
changed = set(sys.argv[4:])
files = [p for p, l in l2.items() if json.loads(l)["t"] == "f" and "c" in json.loads(l)]
if sys.argv[3] == "same":
    print(sum(1 for p in files if p not in changed and l1.get(p) == l2[p]))
else:
    print(sum(1 for p in changed if p in l2 and l1.get(p) != l2[p]))
PYEOF
}
nfiles=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["t"] == "f" and "c" in json.loads(l)))' "$WORK/l2")
check "every unchanged file's entry is the same as in the parent ($nfiles files, 3 changed)" \
	test "$(carried same)" = $((nfiles - 3))
check "the three changed files have new entries" test "$(carried changed)" = 3
check "the entry of the file with an xattr still carries it" \
	grep -q '"x":{' "$WORK/l2"
check "the appended file's entry has its new size" \
	$PY -c 'import json,sys,os; e=[json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["p"] == sys.argv[2]][0]; sys.exit(e["sz"] != os.stat(sys.argv[3]).st_size)' \
	"$WORK/l2" "$appended" "$CIPHER/$appended"

out=$(backup)
S3=$(echo "$out" | snap_of)
check "a backup with nothing changed reads no file" test "$(echo "$out" | stat_of files_read)" = 0
"$BK" ls --json "$S3" >"$WORK/l3"
check "and lists the same tree, entry for entry" cmp "$WORK/l2" "$WORK/l3"

"$BK" restore "$S2" --target "$WORK/rst" >/dev/null 2>&1
check "the incremental snapshot restores to the cipher dir's bytes" \
	diff -r --no-dereference -x phifs.journal "$CIPHER" "$WORK/rst"
CIPHER="$WORK/rst" mount_volume || bail "cannot mount the restored copy"
manifest "$MNT" >"$WORK/m2r"
check "the restored copy mounts with the original key and holds what was written" \
	cmp "$WORK/m2" "$WORK/m2r"
finish
