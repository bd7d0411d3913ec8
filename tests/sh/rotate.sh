#!/usr/bin/env bash
# rotate.sh: phifs-keys rotate-volume-key on 10,000 files while mounted and a
# writer runs; the rotation is killed with SIGKILL at random points (several
# seeds) and run again until it completes. Afterwards every file's bytes are
# unchanged, every header is on the new key, the old key is retired (or kept
# for names), fsck is clean; an unmounted rotation reports its rate.
. "$(dirname "$0")/lib.sh"
setup
plan 12
PY=/usr/bin/python3
NFILES=10000
init_volume && mount_volume || bail "cannot mount"
$PY - "$MNT" "$NFILES" <<'PYEOF' || bail "cannot create the files"
import hashlib, os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for d in range(10):
    os.mkdir(os.path.join(mnt, "d%d" % d))
for i in range(n):
    body = hashlib.sha256(b"%d" % i).digest() * (1 + i % 7)
    if i % 1000 == 0:
        body = body * 400                      # a few multi-block files
    with open(os.path.join(mnt, "d%d" % (i % 10), "f%d" % i), "wb") as f:
        f.write(body)
PYEOF
pymanifest "$MNT" > "$WORK/before"
start_writer 7

kills=0
for seed in 1 2 3 4; do
	"$PHIFS_KEYS" rotate-volume-key "$CIPHER" > "$WORK/rot.$seed" 2>&1 & rpid=$!
	sleep "0.$(( (seed * 37) % 9 + 1 ))"
	kill -9 "$rpid" 2>/dev/null && kills=$((kills + 1))
	wait "$rpid" 2>/dev/null
done
diag "rotation killed $kills time(s) mid-way"
out=$("$PHIFS_KEYS" rotate-volume-key --json "$CIPHER" 2>"$WORK/rot.err"); rc=$?
[ $rc -eq 0 ] && ok "a final rotate-volume-key run completes (exit 0)" || { not_ok "final run (rc=$rc)"; diag "$(cat "$WORK/rot.err")"; }
echo "$out" | tail -1 | $PY -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["type"]=="summary" and d["failed"]==0))' \
	&& ok "its JSON summary reports no failure" || { not_ok "JSON summary"; diag "$out"; }
echo "$out" | $PY -c 'import json,sys; [json.loads(l) for l in sys.stdin]' \
	&& ok "every line of the JSON output is a JSON object" || not_ok "every line of the JSON output is a JSON object"
touch "$WORK/stop"; wait "$WPID"
check "the writer's files read to their end" sh -c "cat '$MNT'/w/* > /dev/null"
pymanifest "$MNT" > "$WORK/after"
check "all 10,000 files are byte-identical after the killed and resumed rotation" cmp "$WORK/before" "$WORK/after"
st=$("$PHIFS_KEYS" status --json --no-kms "$CIPHER")
echo "$st" | $PY -c '
import json, sys
d = json.load(sys.stdin); ks = d["volume_keys"]
p = [k for k in ks if k["primary"]][0]
sys.exit(not (p["version"] >= 2 and p["files"] == d["files"] and d["unreadable_headers"] == 0))' \
	&& ok "every header is on the new primary key" || { not_ok "every header on the new key"; diag "$st"; }
echo "$st" | $PY -c '
import json, sys
ks = json.load(sys.stdin)["volume_keys"]
sys.exit(not all(k["state"] != "retiring" for k in ks))' \
	&& ok "no key is left retiring" || { not_ok "no key left retiring"; diag "$st"; }
echo "hello after rotation" > "$MNT/new"
check "the mounted volume creates files after the rotation" grep -qx "hello after rotation" "$MNT/new"
umount_volume
check "fsck is clean" "$PHIFS" fsck "$CIPHER"
mount_volume || bail "cannot remount"
pymanifest "$MNT" | grep -v '^new ' > "$WORK/after2"
check "after a remount every file is still identical" cmp "$WORK/before" "$WORK/after2"
umount_volume

# Unmounted, uninterrupted: the rate (a benchmark figure, not a pass/fail criterion).
out=$("$PHIFS_KEYS" rotate-volume-key --json "$CIPHER" 2>/dev/null); rc=$?
rate=$(echo "$out" | tail -1 | $PY -c 'import json,sys; d=json.load(sys.stdin); print("%d files in %.2f s = %.0f files/s" % (d["files"], d["seconds"], d["files"]/max(d["seconds"],1e-9)))' 2>/dev/null)
[ $rc -eq 0 ] && ok "an unmounted rotation completes ($rate)" || not_ok "unmounted rotation (rc=$rc)"
check "fsck is clean after the second rotation" "$PHIFS" fsck "$CIPHER"
finish
