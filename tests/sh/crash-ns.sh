#!/usr/bin/env bash
# crash-ns.sh: kill -9 of the daemon during renames, truncates, mkdir/rmdir
# (docs/FORMAT.md §5.5–5.6, §6.3). Two workers each own a subtree and keep an
# exact model of it: creates (fsynced), renames within and across
# directories, over existing files and over empty directories, directory
# renames, long names (side files), links, unlinks, truncates down and up.
# After each kill the remounted tree must equal the model either before or
# after the one operation each worker had in flight — no entry lost or
# duplicated, every name decrypts, every file reads its exact content — and
# fsck must be clean.
. "$(dirname "$0")/lib.sh"
setup
KILLS=${CRASH_NS_KILLS:-6}
plan $((KILLS * 3 + 4))
PY=/usr/bin/python3
init_volume
cat > "$WORK/ns.py" <<'PYEOF'
import errno, hashlib, json, os, random, re, sys

B = 4096
DEAD = (errno.ENOTCONN, errno.ECONNABORTED)

def load(root):
    """The tree as it reads: relpath -> None (dir) or bytes (file)."""
    m = {}; inodes = {}   # hard links share one bytes object, as in the workers' model
    for dp, dns, fns in os.walk(root, onerror=lambda e: (_ for _ in ()).throw(e)):
        for d in dns: m[os.path.relpath(os.path.join(dp, d), root)] = None
        for f in fns:
            with open(os.path.join(dp, f), "rb") as fh:
                ino = os.fstat(fh.fileno()).st_ino
                m[os.path.relpath(os.path.join(dp, f), root)] = inodes.setdefault(ino, fh.read())
    return m

def short(p):      # long names shown as L3-x*212
    return re.sub(r"x{8,}", lambda g: "x*%d" % len(g.group(0)), p)

def digest(m):
    return {p: (None if v is None else hashlib.sha256(v).hexdigest() + ":%d" % len(v)) for p, v in m.items()}

def name(rnd):
    if rnd.random() < 0.2: return "L%d-" % rnd.randint(0, 9) + "x" * rnd.randint(190, 240)   # side file
    return "n%d" % rnd.randint(0, 15)

def dirs(m): return [""] + [p for p, v in m.items() if v is None]
def files(m): return [p for p, v in m.items() if v is not None]
def join(d, n): return os.path.join(d, n) if d else n
def under(p, d): return p == d or p.startswith(d + "/")

def plan(m, rnd):
    step = plan1(m, rnd)   # paths stay well under PATH_MAX (long names nest fast)
    return step if step and all(len(p) < 1500 for p in step[2]) else None

def plan1(m, rnd):
    """Picks an op valid in model m: (description, function on the mount, new model)."""
    ds, fs = dirs(m), files(m); op = rnd.random(); new = dict(m)
    if op < 0.2 or not fs:
        p = join(rnd.choice(ds), name(rnd))
        if p in m: return None
        data = rnd.randbytes(rnd.choice([rnd.randint(1, 9000), rnd.randint(100000, 300000)]))
        def create(root):
            fd = os.open(os.path.join(root, p), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try: os.write(fd, data); os.fsync(fd)
            finally: os.close(fd)
        new[p] = data; return ("create " + p, create, new, p)
    if op < 0.45:       # rename a file, maybe across dirs, maybe over a file
        a = rnd.choice(fs); b = join(rnd.choice(ds), name(rnd)) if rnd.random() < 0.6 else rnd.choice(fs)
        if b in m and m[b] is None: return None
        if a == b or (b in m and m[b] is m[a]): return None    # links of one file: rename does nothing
        new[b] = new.pop(a)
        return ("rename %s -> %s" % (a, b), lambda root: os.rename(os.path.join(root, a), os.path.join(root, b)), new)
    if op < 0.55:       # rename a directory (into another, or over an empty one)
        if len(ds) < 2: return None
        a = rnd.choice(ds[1:]); b = join(rnd.choice(ds), name(rnd)) if rnd.random() < 0.7 else rnd.choice(ds[1:])
        if under(b, a) or (b in m and (m[b] is not None or any(under(p, b) and p != b for p in m))): return None
        for p in list(new):
            if p == b: del new[p]
        for p in list(m):
            if under(p, a): new[b + p[len(a):]] = new.pop(p)
        return ("rename-dir %s -> %s" % (a, b), lambda root: os.rename(os.path.join(root, a), os.path.join(root, b)), new)
    if op < 0.63:
        p = join(rnd.choice(ds), "d%d" % rnd.randint(0, 5))
        if p in m: return None
        new[p] = None
        return ("mkdir " + p, lambda root: os.mkdir(os.path.join(root, p)), new)
    if op < 0.68:
        empty = [d for d in ds[1:] if not any(under(p, d) and p != d for p in m)]
        if not empty: return None
        p = rnd.choice(empty); del new[p]
        return ("rmdir " + p, lambda root: os.rmdir(os.path.join(root, p)), new)
    if op < 0.73:
        p = rnd.choice(fs); del new[p]
        return ("unlink " + p, lambda root: os.unlink(os.path.join(root, p)), new)
    if op < 0.78:       # a hard link: the model keeps a copy (contents never change in place)
        a = rnd.choice(fs); b = join(rnd.choice(ds), name(rnd))
        if b in m: return None
        new[b] = m[a]
        return ("link %s -> %s" % (a, b), lambda root: os.link(os.path.join(root, a), os.path.join(root, b)), new)
    p = rnd.choice(fs); old = m[p]          # truncate down, to zero, or up
    n = rnd.choice([0, len(old) // 2, rnd.randint(0, len(old) + 1), len(old) + rnd.randint(1, 200000)])
    if any(v is old for q, v in m.items() if q != p): return None   # linked: leave it alone
    new[p] = old[:n] + bytes(max(0, n - len(old)))
    return ("truncate %s %d -> %d" % (p, len(old), n), lambda root: os.truncate(os.path.join(root, p), n), new, p)

def work(root, seed, out):
    rnd = random.Random(seed); m = load(root); done = 0
    while True:
        step = plan(m, rnd)
        if step is None: continue
        desc, fn, new = step[:3]
        try:
            fn(root)
        except OSError as e:
            dump = {"done": done, "inflight": desc, "before": digest(m), "after": digest(new)}
            if len(step) > 3 and desc.startswith("create"):   # three calls: may stop after any
                dump["creating"] = [step[3], new[step[3]].hex()]
            elif len(step) > 3:
                dump["truncating"] = [step[3], len(m[step[3]]), new[step[3]].hex()]
            if e.errno not in DEAD: dump["error"] = "%s: %s" % (desc, e)
            json.dump(dump, open(out, "w")); return
        m = new; done += 1
        if done == 30: open(out + ".ready", "w").close()

def check(root, out):
    d = json.load(open(out))
    if "error" in d: print("# unexpected error while the daemon lived:", d["error"]); return 1
    got = digest(load(root))
    if "creating" in d and got != d["before"]:
        p, data = d["creating"][0], bytes.fromhex(d["creating"][1])
        # the created file may hold any prefix of its data (not yet fsynced)
        if p in got:
            n = int(got[p].split(":")[1])
            if n <= len(data) and got[p] == digest({p: data[:n]})[p]:
                d["after"] = dict(d["after"]); d["after"][p] = got[p]
    if "truncating" in d and got not in (d["before"], d["after"]):
        # A truncate up is several writes (FORMAT.md §5.5 "Extend past a gap":
        # the old final block padded, still LAST, then the new final block):
        # killed in between, the file is the old content plus zeros to a size
        # between the two — readable up to its last complete write, which is
        # what the format promises, not a torn block.
        p, old_len, data = d["truncating"][0], d["truncating"][1], bytes.fromhex(d["truncating"][2])
        if p in got and len(data) > old_len:
            k = int(got[p].split(":")[1])
            alt = dict(d["after"]); alt[p] = digest({p: data[:k]})[p]
            if old_len <= k <= len(data) and got == alt:
                print("# in flight: %s: extended part-way to %d bytes (zeros)" % (short(d["inflight"]), k))
                return 0
    if "truncating" in d and got not in (d["before"], d["after"]):
        # The bug the mount's replay now prevents (FORMAT.md §5.6): the first
        # stat after a crash mid-truncate showed the old size, the open then
        # finished the truncation, and the kernel read the tail as zeros.
        p, old_len, data = d["truncating"][0], d["truncating"][1], bytes.fromhex(d["truncating"][2])
        pad = data + bytes(max(0, old_len - len(data)))
        alt = dict(d["after"]); alt[p] = digest({p: pad})[p]
        if got == alt:
            print("# in flight: %s: stale size %d, content the truncated file's plus zeros" % (short(d["inflight"]), old_len))
            return 2
    if got in (d["before"], d["after"]):
        print("# %d ops done, in flight: %s (%s)" % (d["done"], short(d["inflight"]), "applied" if got == d["after"] and got != d["before"] else "not applied"))
        return 0
    print("# in flight: %s" % short(d["inflight"]))
    for p in sorted(set(got) | set(d["before"]) | set(d["after"])):
        g, b, a = got.get(p), d["before"].get(p), d["after"].get(p)
        if not (g == b == a): print("# %s: got %s, before %s, after %s" % (short(p), g, b, a))
    return 1

if sys.argv[1] == "work": work(sys.argv[2], int(sys.argv[3]), sys.argv[4])
else: sys.exit(check(sys.argv[2], sys.argv[3]))
PYEOF
for k in $(seq "$KILLS"); do
	mount_volume || bail "cannot mount"
	mkdir -p "$MNT/p0" "$MNT/p1"
	pids=""
	for w in 0 1; do
		rm -f "$WORK/w$w.json" "$WORK/w$w.json.ready"
		$PY "$WORK/ns.py" work "$MNT/p$w" "$((k * 10 + w))" "$WORK/w$w.json" & pids="$pids $!"
	done
	# Kill once both workers are well under way, at a moment that moves with k.
	for _ in $(seq 600); do [ -e "$WORK/w0.json.ready" ] && [ -e "$WORK/w1.json.ready" ] && break; sleep 0.1; done
	sleep "0.$((k * 13 % 9))"
	dpid=$(daemon_pid); kill -9 "$dpid"
	wait_gone "$dpid" 300 || diag "daemon $dpid still exiting after 30 s"
	wait $pids 2>/dev/null
	umount -l "$MNT" 2>/dev/null; fusermount3 -uz "$MNT" 2>/dev/null
	rm -f "$WORK/phifs.pid"
	out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
	[ $rc -eq 0 ] && ok "kill $k: fsck is clean" || { not_ok "kill $k: fsck is clean (exit $rc)"; echo "$out" | sed 's/^/# /; s|/[^ ]*/|…/|' | head; }
	mount_volume || bail "cannot remount"
	bad=0
	for w in 0 1; do
		$PY "$WORK/ns.py" check "$MNT/p$w" "$WORK/w$w.json"; rc=$?
		[ $rc = 0 ] || [ $bad = 1 ] || bad=$rc
	done
	d="kill $k: each tree is its model before or after the op in flight"
	[ $bad = 0 ] && ok "$d" || not_ok "$d"
	check "kill $k: the remounted volume takes renames again" sh -c "mkdir '$MNT/p0/again' && mv '$MNT/p0/again' '$MNT/p1/again-moved' && rmdir '$MNT/p1/again-moved'"
	umount_volume
done
check "fsck is clean at the end" "$PHIFS" fsck "$CIPHER"
# What a crash between two steps may leave (a half-built directory, a side
# file without its entry) is counted by fsck, not a problem, and cleared by
# rmdir of its directory.
mount_volume || bail "cannot remount"
mkdir "$MNT/plant"
back=$(find "$CIPHER" -maxdepth 1 -inum "$(stat -c %i "$MNT/plant")")
mkdir "$MNT/plant/idless"
idless=$(find "$back" -mindepth 1 -maxdepth 1 -type d)
umount_volume
leftovers() { "$PHIFS" fsck --json "$CIPHER" | tail -1 | $PY -c 'import json, sys; print(json.load(sys.stdin)["leftovers"])'; }
n0=$(leftovers)
mkdir "$back/phifs.mk.0123456789abcdef" && head -c 16 /dev/urandom > "$back/phifs.mk.0123456789abcdef/phifs.dirid"
echo orphan > "$back/phifs.ln.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.name"
rm "$idless/phifs.dirid"
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(leftovers)" = $((n0 + 3)) ] && ok "fsck counts 3 crash leftovers, clean" \
	|| { not_ok "fsck counts crash leftovers, clean (exit $rc)"; echo "$out" | sed 's/^/# /' | head; }
mount_volume || bail "cannot remount"
check "an empty directory that lost its id gets a new one on use" sh -c "touch '$MNT/plant/idless/x' && rm '$MNT/plant/idless/x' && rmdir '$MNT/plant/idless'"
check "rmdir of a directory holding only crash leftovers works" rmdir "$MNT/plant"
umount_volume
finish
