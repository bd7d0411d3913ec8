#!/usr/bin/env bash
# rekey.sh: phifs-keys rekey on ~2,000 files of a mounted volume (empty, 1,
# 4095, 4096, 4097 bytes, 100 KiB, a sparse file, a hard-linked pair, 50 MiB)
# while a writer runs; the tool is killed with SIGKILL at random points
# (several seeds) and run again until it completes; then the daemon is killed
# in the middle of rekeying the 50 MiB file — while its copy is written (the
# rekey is discarded), and while the copy goes over the original (the rekey
# is finished by the next mount, or by fsck). Afterwards every file is
# byte-identical, every header's wrapped key changed, hard links still share
# one inode, holes are still holes, fsck is clean, a remount reads the same,
# and a non-root caller is refused (by the daemon: EPERM).
. "$(dirname "$0")/lib.sh"
setup
plan 23
PY=/usr/bin/python3
NFILES=2000
STATE="$WORK/rekey.state"
init_volume && mount_volume || bail "cannot mount"
$PY - "$MNT" "$NFILES" <<'PYEOF' || bail "cannot create the files"
import hashlib, os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
sizes = [0, 1, 4095, 4096, 4097, 100 * 1024, 8192 + 33, 12345]
for d in range(10):
    os.mkdir(os.path.join(mnt, "d%d" % d))
for i in range(n):
    seed = hashlib.sha256(b"%d" % i).digest()
    size = sizes[i % len(sizes)]
    body = (seed * (size // 32 + 1))[:size]
    with open(os.path.join(mnt, "d%d" % (i % 10), "f%d" % i), "wb") as f:
        f.write(body)
with open(os.path.join(mnt, "sparse"), "wb") as f:      # data, holes, data, hole at the end
    f.write(b"head" * 1000)
    f.seek(5 << 20); f.write(os.urandom(10000))
    f.seek(12 << 20); f.write(b"x" * 4096)
    f.truncate(20 << 20)
with open(os.path.join(mnt, "hl1"), "wb") as f:
    f.write(os.urandom(50000))
os.link(os.path.join(mnt, "hl1"), os.path.join(mnt, "d0", "hl2"))
with open(os.path.join(mnt, "big"), "wb") as f:
    for _ in range(50):
        f.write(os.urandom(1 << 20))
PYEOF

# The wrapped data key (header bytes 48..143) of every backing file, by path.
wrapped_keys() {
	$PY - "$CIPHER" <<'PYEOF'
import os, sys
root = sys.argv[1]
for dp, dns, fns in sorted(os.walk(root)):
    for fn in sorted(fns):
        p = os.path.join(dp, fn)
        rel = os.path.relpath(p, root)
        if any(c.startswith("phifs.") for c in rel.split(os.sep)) or not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            print(os.path.relpath(p, root), f.read(144)[48:].hex())
PYEOF
}
# Every path of $1 is in $2 with another key ($3 = "same": with the same one).
keys_changed() {
	$PY - "$1" "$2" "${3:-}" <<'PYEOF'
import sys
a = dict(l.split() for l in open(sys.argv[1]))
b = dict(l.split() for l in open(sys.argv[2]))
same = sys.argv[3] == "same"
bad = [p for p in a if p not in b or (a[p] == b[p]) != same]
print("%d of %d headers %s" % (len(a) - len(bad), len(a), "kept their key" if same else "changed"))
sys.exit(1 if bad or not a else 0)
PYEOF
}
# "offset kind" runs of a file through SEEK_DATA/SEEK_HOLE.
holemap() {
	$PY - "$1" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size; off = 0
while off < size:
    try:
        d = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    print(d, h); off = h
PYEOF
}
backing_of() { # backing name of a top-level file: the daemon reports backing inode numbers
	ls -i "$CIPHER" | awk -v ino="$(stat -c %i "$1")" '$1 == ino { print $2; exit }'
}
no_leftovers() { ! ls "$CIPHER/phifs.journal" | grep -q '^rk\.'; }

pymanifest "$MNT" > "$WORK/before"
wrapped_keys > "$WORK/keys.before"
holemap "$MNT/sparse" > "$WORK/holes.before"
sparse_back="$CIPHER/$(backing_of "$MNT/sparse")"
diag "sparse file: $(wc -l < "$WORK/holes.before") data run(s), backing $(du -k "$sparse_back" | cut -f1) KiB"

chmod 755 "$MNT" "$MNT/d1"     # for the non-root caller below
start_writer 11

kills=0
for seed in 1 2 3 4 5; do
	"$PHIFS_KEYS" rekey --all --state "$STATE" "$MNT" > "$WORK/rk.$seed" 2>&1 & rpid=$!
	sleep "0.$(( (seed * 37) % 9 + 1 ))"
	kill -9 "$rpid" 2>/dev/null && kills=$((kills + 1))
	wait "$rpid" 2>/dev/null
done
ndone=$(($(wc -l < "$STATE") - 1))
diag "rekey killed $kills time(s) mid-way; $ndone file(s) recorded done"
out=$("$PHIFS_KEYS" rekey --all --json --state "$STATE" "$MNT" 2>"$WORK/rk.err"); rc=$?
[ $rc -eq 0 ] && ok "a final rekey --all run completes (exit 0)" || { not_ok "final run (rc=$rc)"; diag "$(head -5 "$WORK/rk.err")"; }
echo "$out" | tail -1 | $PY -c 'import json,sys; d=json.load(sys.stdin); n=int(sys.argv[1]); sys.exit(not (d["type"]=="summary" and d["failed"]==0 and n>0 and d["skipped"]>=n))' "$ndone" \
	&& ok "its JSON summary: no failure, files done before the kills skipped" || { not_ok "JSON summary"; diag "$(echo "$out" | tail -1)"; }
echo "$out" | $PY -c 'import json,sys; [json.loads(l) for l in sys.stdin]' \
	&& ok "every line of the JSON output is a JSON object" || not_ok "every line of the JSON output is a JSON object"
check "the state file is gone after a complete run" test ! -e "$STATE"
check "no journal leftovers (rk.*)" no_leftovers
touch "$WORK/stop"; wait "$WPID"
check "the writer's files (rekeyed while written) read to their end" sh -c "cat '$MNT'/w/* > /dev/null"
pymanifest "$MNT" > "$WORK/after"
check "every file is byte-identical after the killed and resumed rekey" cmp "$WORK/before" "$WORK/after"
wrapped_keys > "$WORK/keys.after"
r=$(keys_changed "$WORK/keys.before" "$WORK/keys.after") && ok "every header's wrapped key changed ($r)" || { not_ok "every wrapped key changed"; diag "$r"; }
[ "$(stat -c '%i %h' "$MNT/hl1")" = "$(stat -c '%i %h' "$MNT/d0/hl2")" ] && [ "$(stat -c %h "$MNT/hl1")" = 2 ] \
	&& ok "the hard-linked pair still shares one inode" || not_ok "hard links share one inode"
holemap "$MNT/sparse" > "$WORK/holes.after"
check "the sparse file has the same data and hole runs (SEEK_DATA/SEEK_HOLE)" cmp "$WORK/holes.before" "$WORK/holes.after"
blocks=$(du -k "$sparse_back" | cut -f1)
[ "$blocks" -lt 1024 ] && ok "its backing file is still sparse ($blocks KiB for 20 MiB)" || not_ok "backing file sparse ($blocks KiB)"
if su nobody -s /bin/sh -c "$PHIFS_KEYS rekey '$MNT/d1/f1'" > "$WORK/nobody" 2>&1; then
	not_ok "a non-root caller is refused"
else
	grep -q "not permitted" "$WORK/nobody" && ok "a non-root caller is refused (EPERM)" || { not_ok "non-root: EPERM"; diag "$(cat "$WORK/nobody")"; }
fi

# kill -9 of the daemon while it rekeys the 50 MiB file, at the moment the
# journal shows $1 (new: its copy is being written; redo: the copy goes over
# the original). Prints whether the record existed at the kill.
kill_daemon_at() {
	"$PHIFS_KEYS" rekey "$MNT/big" > /dev/null 2>&1 & rpid=$!
	$PY - "$CIPHER/phifs.journal" "$1" "$(daemon_pid)" <<'PYEOF'
import os, signal, sys, time
jdir, want, pid = sys.argv[1], "." + sys.argv[2], int(sys.argv[3])
# .new: the copy is 8 MiB along; .redo: the record is whole (60 bytes).
least = 8 << 20 if want == ".new" else 60
def size(n):
    try:
        return os.stat(os.path.join(jdir, n)).st_size
    except OSError:
        return -1
end = time.time() + 30
while time.time() < end:
    names = os.listdir(jdir)
    if any(n.startswith("rk.") and n.endswith(want) and size(n) >= least for n in names):
        os.kill(pid, signal.SIGKILL)
        print("redo" if any(n.endswith(".redo") for n in os.listdir(jdir)) else "copy")
        sys.exit(0)
    time.sleep(0.0005)
print("missed"); sys.exit(1)
PYEOF
	wait "$rpid" 2>/dev/null
	wait_gone "$(daemon_pid)" 300
	umount -l "$MNT" 2>/dev/null; fusermount3 -uz "$MNT" 2>/dev/null
}
big_back="$CIPHER/$(backing_of "$MNT/big")"
big_key() { od -An -tx1 -j48 -N96 "$big_back" | tr -d ' \n'; }
big_sha=$(sha "$MNT/big")

# On a loaded machine the copy can end between seeing 8 MiB of it and the
# kill landing; that kill is then one "in place" (the mount must finish the
# rekey, checked as such), or the watcher misses the copy altogether; either
# way the copy case is tried again, up to 3 times.
for try in 1 2 3; do
	k0=$(big_key)
	at=$(kill_daemon_at new)
	mount_volume || bail "cannot remount after killing the daemon"
	k1=$(big_key)
	[ "$at" = copy ] && break
	[ "$at" = missed ] && { diag "the watcher missed the copy (try $try)"; continue; }
	[ "$k1" != "$k0" ] && no_leftovers && [ "$(sha "$MNT/big")" = "$big_sha" ] && continue
	at="redo, not finished by the mount"
	break
done
[ "$at" = copy ] && [ "$k1" = "$k0" ] && no_leftovers && [ "$(sha "$MNT/big")" = "$big_sha" ] \
	&& ok "daemon killed while writing the copy: the rekey is discarded, the file intact (try $try)" \
	|| not_ok "killed during the copy (at=$at, try $try, key kept: $([ "$k1" = "$k0" ] && echo yes || echo no))"

# The redo record lives only while the copy goes over the original; on a
# loaded machine the watcher can miss it (the rekey then just completes, and
# the volume is remounted for another try, up to 3). Sets at and kbefore.
kill_in_place() {
	for try in 1 2 3; do
		kbefore=$(big_key)
		at=$(kill_daemon_at redo)
		[ "$at" = missed ] || return 0
		diag "the watcher missed the redo record (try $try)"
		[ "$try" -lt 3 ] && { mount_volume || bail "cannot remount after a missed kill"; }
	done
}
kill_in_place
mount_volume || bail "cannot remount after killing the daemon"
k2=$(big_key)
[ "$at" = redo ] && [ "$k2" != "$kbefore" ] && no_leftovers \
	&& ok "daemon killed during the copy in place: the mount finished the rekey (new key)" \
	|| { not_ok "killed in place, mount replay (at=$at)"; diag "keys ${kbefore:0:16} ${k2:0:16}; journal: $(ls "$CIPHER/phifs.journal" | tr '\n' ' ')"; }
check "the 50 MiB file is byte-identical after the finished rekey" test "$(sha "$MNT/big")" = "$big_sha"

kill_in_place
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
k3=$(big_key)
[ "$at" = redo ] && [ $rc -eq 0 ] && [ "$k3" != "$kbefore" ] && no_leftovers \
	&& ok "killed again in place: fsck finishes the rekey and reports the volume clean" \
	|| { not_ok "fsck replay (at=$at rc=$rc)"; diag "$out"; diag "keys ${kbefore:0:16} ${k3:0:16}; journal: $(ls "$CIPHER/phifs.journal" | tr '\n' ' ')"; }
mount_volume || bail "cannot remount after fsck"
check "the 50 MiB file is byte-identical after the fsck-finished rekey" test "$(sha "$MNT/big")" = "$big_sha"

out=$("$PHIFS_KEYS" rekey --all --json --state "$STATE" "$MNT" 2>/dev/null); rc=$?
rate=$(echo "$out" | tail -1 | $PY -c 'import json,sys; d=json.load(sys.stdin); s=max(d["seconds"],1e-9); print("%d files, %.0f MiB in %.2f s = %.1f MiB/s, %.0f files/s" % (d["files"], d["bytes"]/2**20, s, d["bytes"]/2**20/s, d["rekeyed"]/s))' 2>/dev/null)
[ $rc -eq 0 ] && ok "a second, uninterrupted rekey --all completes ($rate)" || not_ok "second rekey (rc=$rc)"
"$PHIFS_KEYS" rekey --throttle 20 --json --state "$STATE" "$MNT/big" > "$WORK/thr" 2>&1
secs=$(tail -1 "$WORK/thr" | $PY -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' 2>/dev/null)
$PY -c "import sys; sys.exit(not ${secs:-0} >= 2.3)" && ok "--throttle 20 keeps 50 MiB to at least 2.5 s ($secs s)" || not_ok "--throttle ($secs s)"
pymanifest "$MNT" > "$WORK/after2"
check "every file is still byte-identical" cmp "$WORK/before" "$WORK/after2"
umount_volume
out=$("$PHIFS" fsck "$CIPHER" 2>&1) && ok "fsck is clean" || { not_ok "fsck is clean"; diag "$out"; }
mount_volume || bail "cannot remount"
pymanifest "$MNT" > "$WORK/after3"
check "after a remount every file is still identical" cmp "$WORK/before" "$WORK/after3"
wrapped_keys > "$WORK/keys.after3"
r=$(keys_changed "$WORK/keys.after" "$WORK/keys.after3") && ok "the second run changed every key again ($r)" || { not_ok "second run changed every key"; diag "$r"; }
umount_volume
finish
