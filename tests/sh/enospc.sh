#!/usr/bin/env bash
# enospc.sh: a full and a failing backing file system (docs/OPERATIONS.md
# "When the backing store fails").
#
# ENOSPC: the cipher directory lives on an 8 MiB tmpfs. A filler fills it;
# then overwrites, appends, truncates, creates (short and long names), mkdir,
# rename to a long name are tried, through the page cache and with direct_io.
# Every failure must be ENOSPC (or EIO), never another error; every file must
# read, block by block, as its content before or after the failed operation
# (a failed fsync may leave a prefix of an append: each 4 KiB block old or
# new, never garbage, never EIO); every name listed must open; fsck clean;
# after freeing space everything works again.
#
# EIO: the cipher directory on a loop-mounted ext4 image that is shut down
# (EXT4_IOC_SHUTDOWN, flag DEFAULT: sync, then every call fails with EIO — a
# dead disk as the daemon sees it) under an appending writer. The writer must
# get EIO, the daemon must survive it, and after the image is mounted again
# each file holds at least what was fsynced, no torn block, fsck clean.
. "$(dirname "$0")/lib.sh"
setup
plan 20
PY=/usr/bin/python3
SMALL="$WORK/small"
LOOPMNT="$WORK/ext4"
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" 2>/dev/null || umount -l "$MNT"; fi
	stop_daemon
	for m in "$SMALL" "$LOOPMNT"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	teardown
}
trap cleanup EXIT
mkdir -p "$SMALL"
mount -t tmpfs -o size=8m,mode=0755 phifs-enospc "$SMALL" || bail "cannot mount a tmpfs"
CIPHER="$SMALL/cipher"

# io.py ACTION MNT STATE: the workload and its checks; STATE (outside the
# volume) holds each file's acceptable contents (hex).
cat > "$WORK/io.py" <<'PYEOF'
import errno, hashlib, json, os, random, sys, time
act, mnt, state_path = sys.argv[1:4]
B = 4096
OK_ERR = (errno.ENOSPC, errno.EIO, errno.EDQUOT)

def load():
    try:
        with open(state_path) as f: return json.load(f)
    except FileNotFoundError: return {}
def save(st):
    with open(state_path, "w") as f: json.dump(st, f)
def shape(data):
    return bytes(data).hex()
def read(p):
    with open(p, "rb") as f: return f.read()
def fsync_write(p, fn, flags=os.O_RDWR | os.O_CREAT):
    fd = os.open(p, flags, 0o644)
    try:
        fn(fd); os.fsync(fd)
    finally:
        os.close(fd)
def gen(seed, n):
    return random.Random(seed).randbytes(n)

def blockwise_ok(data, cands):
    """A failed fsync may leave part of a write: the length lies between the
    candidates' and every 4 KiB block equals the same range of one of them."""
    cands = [bytes.fromhex(c) for c in cands]
    if not min(map(len, cands)) <= len(data) <= max(map(len, cands)): return False
    return all(any(c[i:i + B] == data[i:i + B] for c in cands) for i in range(0, len(data), B))

st = load()
if act == "prep":
    sizes = [0, 1, 4095, 4096, 10000, 100000, 300000, 65536]
    for k, n in enumerate(sizes):
        data = gen(k, n)
        fsync_write(os.path.join(mnt, "k%d" % k), lambda fd: os.write(fd, data))
        st["k%d" % k] = {"cands": [shape(data)], "seed": k}
    save(st)
elif act == "fill":
    # big writes until the first failure, then ever smaller ones: the disk
    # ends full to the last page, whatever a failed write gave back
    fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    data = gen(99, 1 << 20); errs = set(); n = 0; chunk = 1 << 20
    while chunk >= 1 and n < (64 << 20):
        try:
            os.pwrite(fd, data[:chunk], n); os.fsync(fd); n += chunk
        except OSError as e:
            errs.add(e.errno); chunk //= 2
    try: os.close(fd)
    except OSError as e: errs.add(e.errno)
    print(",".join(errno.errorcode.get(e, str(e)) for e in sorted(errs)) or "no error", n)
    sys.exit(0 if errs and errs <= set(OK_ERR) else 1)
elif act == "ops":
    # one op per keeper; a failed op leaves the file as before or after it
    bad = []; failed = 0
    for name in sorted(k for k in st if k.startswith("k")):
        p = os.path.join(mnt, name)
        old = read(p); n = len(old); r = random.Random(name + sys.argv[4])
        kind = r.choice(["overwrite", "append", "trunc-up", "trunc-down", "sparse"])
        data = r.randbytes(r.randint(1, 40000))
        if kind == "overwrite":
            off = r.randint(0, max(n - 1, 0)); new = bytearray(old)
            new[off:off + len(data)] = data; new += bytes(max(0, off - n))
            fn = lambda fd: os.pwrite(fd, data, off)
        elif kind == "append":
            new = old + data; fn = lambda fd: os.pwrite(fd, data, n)
        elif kind == "trunc-up":
            new = old + bytes(len(data)); fn = lambda fd: os.ftruncate(fd, len(new))
        elif kind == "trunc-down":
            new = old[:n // 2]; fn = lambda fd: os.ftruncate(fd, n // 2)
        else:
            off = n + 300000; new = old + bytes(off - n) + data
            fn = lambda fd: os.pwrite(fd, data, off)
        try:
            fsync_write(p, fn, os.O_RDWR)
            st[name]["cands"] = [shape(bytes(new))]
        except OSError as e:
            failed += 1
            if e.errno not in OK_ERR: bad.append("%s %s: %s" % (name, kind, e))
            st[name]["cands"] = [shape(old), shape(bytes(new))]
    save(st)
    for b in bad: print("# unexpected error:", b)
    print("# %d of the ops failed" % failed)
    sys.exit(1 if bad else 0)
elif act == "names":
    # creates, mkdirs, a long name, a rename to a long name: until they fail
    bad = []; fails = {}
    def attempt(what, fn):
        try:
            fn(); return True
        except OSError as e:
            fails[what] = fails.get(what, 0) + 1
            if e.errno not in OK_ERR: bad.append("%s: %s" % (what, e))
            return False
    for i in range(60):
        name = "n%d" % i
        if attempt("create", lambda: fsync_write(os.path.join(mnt, name), lambda fd: os.write(fd, name.encode()),
                                                 os.O_RDWR | os.O_CREAT | os.O_EXCL)):
            st[name] = {"cands": [shape(name.encode())]}
    for i in range(20):
        attempt("mkdir", lambda: os.mkdir(os.path.join(mnt, "d%d" % i)))
    attempt("long create", lambda: fsync_write(os.path.join(mnt, "L" * 220), lambda fd: os.write(fd, b"long")))
    if os.path.exists(os.path.join(mnt, "k1")):
        if attempt("rename to a long name", lambda: os.rename(os.path.join(mnt, "k1"), os.path.join(mnt, "R" * 230))):
            st["R" * 230] = st.pop("k1")
    attempt("rename", lambda: os.rename(os.path.join(mnt, "k2"), os.path.join(mnt, "k2-renamed"))) and \
        st.__setitem__("k2-renamed", st.pop("k2"))
    save(st)
    for b in bad: print("# unexpected error:", b)
    print("# failures:", json.dumps(fails))
    sys.exit(1 if bad or not (fails.get("create") and fails.get("mkdir")) else 0)
elif act == "verify":
    # every entry opens and reads; every tracked file matches a candidate
    bad = []
    for dp, dns, fns in os.walk(mnt, onerror=lambda e: bad.append("walk: %s" % e)):
        for fn in fns:
            try: read(os.path.join(dp, fn))
            except OSError as e: bad.append("%s: %s" % (os.path.relpath(os.path.join(dp, fn), mnt)[:20], e))
    for name, v in st.items():
        try: data = read(os.path.join(mnt, name))
        except OSError as e: bad.append("%s: %s" % (name[:20], e)); continue
        if shape(data) not in v["cands"] and not blockwise_ok(data, v["cands"]):
            bad.append("%s: %d bytes, matches none of %d acceptable contents" % (name[:20], len(data), len(v["cands"])))
    for b in bad: print("# " + b)
    sys.exit(1 if bad else 0)
elif act == "free":
    os.unlink(os.path.join(mnt, "filler"))
    # The daemon gives a deleted file's blocks back in the unlink itself
    # (tests/sh/unlink-space.sh); the wait only absorbs statfs lag.
    for _ in range(100):
        v = os.statvfs(mnt)
        if v.f_bavail * v.f_frsize > (3 << 20): break
        time.sleep(0.1)
    for name in sorted(st):
        p = os.path.join(mnt, name); old = read(p); data = gen(len(old), 20000)
        fsync_write(p, lambda fd: os.pwrite(fd, data, len(old)), os.O_RDWR)
        st[name]["cands"] = [shape(old + data)]
    big = gen(7, 2 << 20)
    fsync_write(os.path.join(mnt, "after"), lambda fd: os.write(fd, big))
    st["after"] = {"cands": [shape(big)]}
    os.mkdir(os.path.join(mnt, "dir-after"))
    fsync_write(os.path.join(mnt, "dir-after", "M" * 220), lambda fd: os.write(fd, b"long"))
    st["dir-after/" + "M" * 220] = {"cands": [shape(b"long")]}
    save(st)
PYEOF
io() { $PY "$WORK/io.py" "$1" "$MNT" "$WORK/state.json" "${@:2}"; }
report() { # report DESCRIPTION: the exit status of the last io call, with its output
	local rc=$? out=$1
	[ $rc -eq 0 ] && ok "$out" || not_ok "$out"
}

init_volume && mount_volume || bail "cannot mount on the tmpfs"
io prep; report "files written before the disk fills"
out=$(io fill); rc=$?
[ $rc -eq 0 ] && ok "filling the disk ends in a clean error ($out)" || not_ok "filling the disk ends in a clean error ($out)"
diag "backing store: $(df -k --output=avail "$SMALL" | tail -1) KiB free"
io ops 1; report "overwrite/append/truncate on a full disk: only ENOSPC/EIO"
io verify; report "every file reads as before or after its failed op (page cache)"
io names; report "create, mkdir, long names, rename on a full disk fail cleanly"
io verify; report "every name listed opens; created files hold their content"
umount_volume
mount_volume -o direct_io || bail "cannot remount"
io verify; report "after a remount (direct_io): every file as before or after"
io ops 2; report "ops on a full disk with direct_io: only ENOSPC/EIO"
io verify; report "every file reads as before or after its failed op (direct_io)"
umount_volume
fsck_after_crash "full disk"
check "the journal holds no record after a clean unmount" sh -c "! find '$CIPHER/phifs.journal' -type f -size +0 | grep -q ."
mount_volume || bail "cannot remount"
io free; report "after freeing space, appends, a 2 MiB file, mkdir and a long name work"
io verify; report "everything reads back after freeing space"
umount_volume
fsck_after_crash "after freeing space"

# ---- EIO: the backing ext4 shut down under a writer ----
umount "$SMALL"
cat > "$WORK/append.py" <<'PYEOF'
import errno, os, random, sys
mnt, log = sys.argv[1:3]
fds = [os.open(os.path.join(mnt, "a%d" % i), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for i in range(3)]
sizes = [0, 0, 0]; rnd = random.Random(5)
with open(log, "w", buffering=1) as lg:
    for n in range(100000):
        i = n % 3; data = random.Random(sizes[i] * 7 + i).randbytes(rnd.randint(1, 30000))
        lg.write("try %d %d\n" % (i, sizes[i] + len(data)))
        try:
            os.write(fds[i], data); os.fsync(fds[i])
        except OSError as e:
            lg.write("error %s\n" % errno.errorcode.get(e.errno, e.errno)); sys.exit(0)
        sizes[i] += len(data)
        lg.write("done %d %d\n" % (i, sizes[i]))
        if n == 40: open(log + ".ready", "w").close()
PYEOF
cat > "$WORK/appcheck.py" <<'PYEOF'
import os, random, sys
mnt, log = sys.argv[1:3]
done = [0, 0, 0]; tried = [0, 0, 0]
for line in open(log):
    w = line.split()
    if w[0] in ("try", "done"):
        (tried if w[0] == "try" else done)[int(w[1])] = int(w[2])
pieces = [[], [], []]; prev = [0, 0, 0]
for line in open(log):
    w = line.split()
    if w[0] == "try":
        i, n = int(w[1]), int(w[2]); pieces[i].append((prev[i], n)); prev[i] = n
bad = 0
for i in range(3):
    data = open(os.path.join(mnt, "a%d" % i), "rb").read()
    exp = b"".join(random.Random(a * 7 + i).randbytes(b - a) for a, b in pieces[i])
    if not done[i] <= len(data) <= max(tried[i], done[i]) or data != exp[:len(data)]:
        print("# a%d: %d bytes, fsynced %d, tried %d, content %s" % (i, len(data), done[i], tried[i],
              "as written" if data == exp[:len(data)] else "differs"))
        bad = 1
sys.exit(bad)
PYEOF
shutdown_ext4() {
	$PY -c "import fcntl, os, struct; fd = os.open('$LOOPMNT', os.O_RDONLY); fcntl.ioctl(fd, 0x8004587D, struct.pack('I', 0))"
}
eio_plan=6
if ! truncate -s 64M "$WORK/ext4.img" || ! mkfs.ext4 -q -F "$WORK/ext4.img" >/dev/null 2>&1 \
	|| ! mkdir -p "$LOOPMNT" || ! mount -o loop "$WORK/ext4.img" "$LOOPMNT" 2>/dev/null; then
	for _ in $(seq $eio_plan); do ok "# SKIP no loop device or mkfs.ext4 here"; done
	finish
fi
CIPHER="$LOOPMNT/cipher"
init_volume && mount_volume || bail "cannot mount on the ext4 image"
rm -f "$WORK/state.json"; io prep >/dev/null
$PY "$WORK/append.py" "$MNT" "$WORK/append.log" & apid=$!
for _ in $(seq 600); do [ -e "$WORK/append.log.ready" ] || ! kill -0 $apid 2>/dev/null && break; sleep 0.1; done
shutdown_ext4 || diag "shutdown ioctl failed"
wait $apid
check "the writer gets EIO when the backing disk dies" grep -qx "error EIO" "$WORK/append.log"
check_fails "reading a file of the dead disk fails" cat "$MNT/k5"
check "the daemon survives the dead disk" kill -0 "$(daemon_pid)"
umount "$MNT" 2>/dev/null || umount -l "$MNT"
stop_daemon; rm -f "$WORK/phifs.pid"
umount "$LOOPMNT" || umount -l "$LOOPMNT"
mount -o loop "$WORK/ext4.img" "$LOOPMNT" || bail "cannot mount the ext4 image again"
fsck_after_crash "after the disk died"
mount_volume || bail "cannot remount"
$PY "$WORK/appcheck.py" "$MNT" "$WORK/append.log"; report "each appended file holds at least what was fsynced"
io verify; report "the files written before read back intact"
umount_volume
finish
