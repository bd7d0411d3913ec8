# lib.sh: shared helpers for the shell integration tests (TAP output).
# Each test gets a scratch dir with a cipher dir, a key file and a mount point;
# mounts are real FUSE mounts, torn down by trap (unmount, then kill by PID).
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
PHIFS="$top_builddir/tools/phifs/phifs"
PHIFS_KEYS="$top_builddir/tools/phifs-keys/phifs-keys"
T_NUM=0
T_FAIL=0

plan() { echo "1..$1"; }
ok() { T_NUM=$((T_NUM + 1)); echo "ok $T_NUM - $*"; }
not_ok() { T_NUM=$((T_NUM + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_NUM - $*"; }
# check "description" command...: ok when the command succeeds
check() { local d="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }
# check_fails "description" command...: ok when the command fails
check_fails() { local d="$1"; shift; if "$@" >/dev/null 2>&1; then not_ok "$d"; else ok "$d"; fi; }
diag() { echo "# $*"; }

# Exit 77, automake's "skipped"; the TAP plan says the same to the TAP driver
# (which runs with --ignore-exit: the TAP lines alone decide pass or fail).
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

# The only reason to skip is a machine without /dev/fuse. Anything else
# missing is a broken test environment and fails loudly.
bail() { echo "Bail out! $*"; exit 1; }
need_fuse() {
	[ -c /dev/fuse ] || skip_all "no /dev/fuse"
	[ "$(id -u)" -eq 0 ] || bail "mount tests need root (allow_other, chown, other uids)"
	command -v fusermount3 >/dev/null || bail "fusermount3 missing (apt-get install fuse3)"
}

setup() {
	need_fuse
	WORK=$(mktemp -d /tmp/phifs-test.XXXXXX)
	chmod 755 "$WORK"   # other uids (posix.sh) must reach the mount point
	CIPHER="$WORK/cipher"
	MNT="$WORK/mnt"
	KEY="$WORK/kek.bin"
	mkdir -p "$MNT"
	# Audit records of every mount and tool go here, never to the system's
	# default spool (tests/sh/audit.sh passes its own audit= as well).
	export PHIFS_AUDIT_DIR="$WORK/audit" PHIFS_AUDIT_KEYS_DIR="$WORK/audit-keys"
	trap teardown EXIT
}

teardown() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	stop_daemon
	# Audit spool files are append-only (chattr +a) where the filesystem allows.
	[ -n "${WORK:-}" ] && find "$WORK" -maxdepth 3 -name '*.log' -type f -exec chattr -a {} + 2>/dev/null
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# The daemon of the current mount, stopped by the PID it wrote (SIGTERM, then
# SIGKILL after 5 s).
daemon_pid() { [ -n "${WORK:-}" ] && cat "$WORK/phifs.pid" 2>/dev/null; }
# Waits up to $2 tenths of a second (default 50) for PID to be gone or a
# zombie (a killed daemon may take seconds to unmap, more under ASan).
wait_gone() {
	for _ in $(seq "${2:-50}"); do
		[ -e "/proc/$1" ] || return 0
		[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ] && return 0
		sleep 0.1
	done
	return 1
}
stop_daemon() {
	local pid; pid=$(daemon_pid) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	wait_gone "$pid" && return 0
	kill -9 "$pid" 2>/dev/null
}

init_volume() { "$PHIFS" init --kms "local:$KEY" "$@" "$CIPHER" >/dev/null; }
mount_volume() { "$PHIFS" mount -o allow_other --pidfile "$WORK/phifs.pid" "$@" "$CIPHER" "$MNT"; }
# Unmounts and waits for the daemon (known by its PID) to wipe keys and exit.
umount_volume() {
	local pid; pid=$(daemon_pid)
	"$PHIFS" umount "$MNT" || return 1
	[ -n "$pid" ] || return 0
	wait_gone "$pid" && return 0
	diag "daemon $pid still running after umount"
	return 1
}
# Plaintext manifest: type, name, and content hash / target / xattr.
manifest() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
		if [ -L "$p" ]; then echo "l $p -> $(readlink "$p")"
		elif [ -d "$p" ]; then echo "d $p"
		else echo "f $p $(stat -c %s "$p") $(sha256sum < "$p" | cut -d' ' -f1)"; fi
	done
	# the reference images (tests/images/) carry one xattr
	[ ! -e one-byte ] || echo "x ./one-byte $(getfattr --only-values -n user.patient one-byte)")
}

# Path and SHA-256 of every file of a tree outside its top-level w/ (where
# the tests' writers run), in one process: thousands of files.
pymanifest() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import hashlib, os, sys
root = sys.argv[1]
for dp, dns, fns in sorted(os.walk(root)):
    dns.sort()
    if os.path.relpath(dp, root).split(os.sep)[0] == "w":
        continue
    for fn in sorted(fns):
        p = os.path.join(dp, fn)
        with open(p, "rb") as f:
            print(os.path.relpath(p, root), hashlib.sha256(f.read()).hexdigest())
PYEOF
}

# A writer appending to and truncating 31 files in $MNT/w until $WORK/stop
# exists (random seed $1); its PID in WPID. Stop: touch "$WORK/stop"; wait "$WPID".
start_writer() {
	mkdir -p "$MNT/w"
	/usr/bin/python3 - "$MNT" "$WORK/stop" "$1" <<'PYEOF' &
import os, random, sys
mnt = sys.argv[1]; rnd = random.Random(int(sys.argv[3]))
while not os.path.exists(sys.argv[2]):
    p = os.path.join(mnt, "w", "x%d" % rnd.randint(0, 30))
    with open(p, "ab") as f:
        f.write(os.urandom(rnd.randint(1, 20000)))
    if rnd.random() < 0.3:
        os.truncate(p, rnd.randint(0, 30000))
PYEOF
	WPID=$!
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
finish() { [ "$T_FAIL" -eq 0 ]; exit $?; }

# rq DIR 'python expression': true when the expression holds over the records
# of DIR. R: the daemon's records; tools: the tools stream's ("<vol>-tools");
# ev(e[, rs]): those of event e; F: R without the log writer's own records.
# ev("io") and ev("setattr") also give, as records of that event, the
# summaries and attribute changes joined into an open or create record (its
# "io" or "setattr" member with the record's actor, object and seq).
# rv DIR 'python expression': prints its value instead.
rq() { RQ_PRINT=0 rq_eval "$@"; }
rv() { RQ_PRINT=1 rq_eval "$@"; }
rq_eval() {
	/usr/bin/python3 - "$1" "$2" <<'PYEOF'
import glob, json, os, sys
R, tools = [], []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.log"))):
    for line in open(f):
        if not line.endswith("\n"):
            continue    # a torn final fragment (a write that failed part-way)
        r = json.loads(line)
        (tools if "-tools" in os.path.basename(f) else R).append(r)
def ev(e, rs=None):
    rs = R if rs is None else rs
    out = [r for r in rs if r["event"] == e]
    if e in ("io", "setattr"):
        out += [dict(r[e], event=e, joined=r["event"], actor=r["actor"],
                     object=r.get("object"), result=r["result"], seq=r.get("seq", 0))
                for r in rs if r["event"] != e and isinstance(r.get(e), dict)]
        out.sort(key=lambda r: r.get("seq", 0))
    return out
F = [r for r in R if r["event"] not in ("audit-start", "audit-stop", "checkpoint")]
E = [r["event"] for r in R if r["event"] != "checkpoint"]
try:
    ok = eval(sys.argv[2])
except Exception as e:
    ok = False
    print("# %r" % e)
if os.environ.get("RQ_PRINT") == "1":
    print(ok)
    sys.exit(0)
if not ok:
    print("# records:", [(r["event"], r.get("lost"), r.get("refused")) for r in R][-40:],
          [r["event"] for r in tools])
sys.exit(0 if ok else 1)
PYEOF
}
# Waits up to 30 s for a command to succeed (the writer retries once a second).
# rcheck "description" DIR 'expression': rq as a test, its diagnostics shown.
rcheck() { local d="$1"; shift; if rq "$@"; then ok "$d"; else not_ok "$d"; fi; }
# fsck clean, or only what docs/FORMAT.md §5.5 allows after a kill or a
# failed write: a torn extension (an extension whose last step, dropping LAST
# from the old final block, never ran) reads correctly and is reported.
fsck_after_crash() {
	local out rc
	out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
	if [ $rc -eq 1 ] && ! echo "$out" | grep '^CORRUPT' | grep -qv 'torn extend'; then
		ok "$1: fsck finds only torn extensions (FORMAT.md §5.5)"; echo "$out" | grep '^CORRUPT' | sed 's/^/# /'
	elif [ $rc -eq 0 ]; then ok "$1: fsck is clean"
	else not_ok "$1: fsck is clean (exit $rc)"; echo "$out" | sed 's/^/# /' | head; fi
}
eventually() { for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
