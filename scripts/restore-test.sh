#!/usr/bin/env bash
# restore-test.sh: the quarterly restore drill (docs/OPERATIONS.md "Restore
# drill"): restores a snapshot of a backup repository into a scratch
# directory, mounts it read-only with the volume's own keys, and compares it
# file by file (SHA-256 of the plaintext) with the live mounted volume. Files
# the live volume changed or deleted after the snapshot was taken are
# reported as such (by mtime), not as failures; a file that differs although
# the live copy's mtime is older than the snapshot, or that cannot be read
# back, fails the drill. Plaintext names are never printed: differences are reported by
# count, and with --show-paths by path (for the operator's terminal only).
#
# Usage (as root): scripts/restore-test.sh -r REPO --live MOUNTPOINT
#                  [--snapshot ID|latest] [--scratch DIR] [--audit DIR]
#                  [--json] [--show-paths]
# The drill reads every restored file: its mount is audited like any other,
# into --audit DIR (default /var/log/phifs/restore-drill, kept; its own
# verification material in DIR/keys, so it never collides with the live
# volume's stream).
# The repository key comes from the repository's KMS; the volume key from the
# volume's (a `phifs unlock` session works too).
# Exit: 0 the restore matches, 1 it does not (or a file could not be read),
#       2 usage, 3 restore or mount failed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PHIFS=${PHIFS:-$(command -v phifs || echo "$here/tools/phifs/phifs")}
BACKUP=${PHIFS_BACKUP:-$(command -v phifs-backup || echo "$here/tools/phifs-backup/phifs-backup")}
repo=${PHIFS_REPO:-} live="" snap=latest scratch="" json=0 show=0
audit=/var/log/phifs/restore-drill
usage() { sed -n '12,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	-r|--repo) repo=$2; shift 2 ;;
	--live) live=$2; shift 2 ;;
	--snapshot) snap=$2; shift 2 ;;
	--scratch) scratch=$2; shift 2 ;;
	--audit) audit=$2; shift 2 ;;
	--json) json=1; shift ;;
	--show-paths) show=1; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
[ -n "$repo" ] && [ -n "$live" ] || usage
mountpoint -q "$live" || { echo "restore-test: $live is not a mounted volume" >&2; exit 2; }
say() { [ "$json" -eq 1 ] || echo "restore-test: $*" >&2; }

made_scratch=0
if [ -z "$scratch" ]; then
	scratch=$(mktemp -d /var/tmp/phifs-restore-test.XXXXXX) || exit 3
	made_scratch=1
fi
cleanup() {
	mountpoint -q "$scratch/mnt" 2>/dev/null && "$PHIFS" umount "$scratch/mnt" >/dev/null 2>&1
	if [ "$made_scratch" -eq 1 ]; then
		find "$scratch" -maxdepth 3 -name '*.log' -exec chattr -a {} + 2>/dev/null
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
mkdir -p "$scratch/mnt" || exit 3

# The snapshot's id and time (the live volume may have moved on since).
info=$("$BACKUP" -r "$repo" snapshots --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
want = sys.argv[1]
snaps = [json.loads(l) for l in sys.stdin if l.strip()]
snaps = [s for s in snaps if "id" in s]
if not snaps:
    sys.exit(1)
pick = max(snaps, key=lambda s: s.get("time", 0)) if want == "latest" else \
    next((s for s in snaps if s["id"].startswith(want)), None)
if pick is None:
    sys.exit(1)
print(pick["id"], pick.get("time", ""))
' "$snap") || { echo "restore-test: no snapshot '$snap' in the repository" >&2; exit 3; }
read -r snap_id snap_time <<<"$info"
say "restoring snapshot ${snap_id:0:12} into $scratch"
t0=$(date +%s.%N)
"$BACKUP" -r "$repo" restore "$snap_id" --target "$scratch/cipher" >/dev/null \
	|| { echo "restore-test: restore failed" >&2; exit 3; }
t1=$(date +%s.%N)
# Audited like any mount, into its own spool and verification material.
mkdir -p "$audit/keys" && chmod 700 "$audit" "$audit/keys" || exit 3
PHIFS_AUDIT_KEYS_DIR="$audit/keys" "$PHIFS" mount -o ro,audit="$audit" "$scratch/cipher" "$scratch/mnt" \
	|| { echo "restore-test: the restored volume does not mount" >&2; exit 3; }

/usr/bin/python3 - "$scratch/mnt" "$live" "$snap_time" "$json" "$show" "$snap_id" \
	"$(echo "$t1 - $t0" | bc)" <<'PY'
import hashlib, json, os, sys
from datetime import datetime
restored, live, snap_time, as_json, show, snap_id, secs = sys.argv[1:8]
try:
    t_snap = float(snap_time)
except ValueError:
    t_snap = datetime.fromisoformat(snap_time.replace("Z", "+00:00")).timestamp()

def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()

n = {"files": 0, "bytes": 0, "matched": 0, "changed_since": 0, "deleted_since": 0,
     "mismatched": 0, "unreadable": 0}
bad = []
for root, dirs, files in os.walk(restored):
    for name in files:
        r = os.path.join(root, name)
        rel = os.path.relpath(r, restored)
        l = os.path.join(live, rel)
        if os.path.islink(r):
            continue
        n["files"] += 1
        try:
            dr = digest(r)
            n["bytes"] += os.path.getsize(r)
        except OSError:
            n["unreadable"] += 1
            bad.append(("unreadable", rel))
            continue
        try:
            st = os.stat(l)
        except FileNotFoundError:
            n["deleted_since"] += 1
            continue
        # mtime, not ctime: a file whose content differs but claims to be
        # older than the snapshot is a failure to investigate, not noise.
        if st.st_mtime >= t_snap:      # the snapshot's second itself is ambiguous
            n["changed_since"] += 1
            continue
        if digest(l) == dr:
            n["matched"] += 1
        else:
            n["mismatched"] += 1
            bad.append(("mismatched", rel))
ok = n["mismatched"] == 0 and n["unreadable"] == 0 and n["files"] > 0
report = dict(n, ok=ok, snapshot=snap_id, restore_seconds=round(float(secs), 1))
if as_json == "1":
    print(json.dumps(report))
else:
    print("restore drill %s: snapshot %s, %d files (%d bytes) restored in %.1f s; "
          "%d identical to the live volume, %d changed and %d deleted there since; "
          "%d differ, %d unreadable"
          % ("PASSED" if ok else "FAILED", snap_id[:12], n["files"], n["bytes"], float(secs),
             n["matched"], n["changed_since"], n["deleted_since"], n["mismatched"],
             n["unreadable"]))
    if show == "1":
        for why, rel in bad:
            print("  %s: /%s" % (why, rel))
sys.exit(0 if ok else 1)
PY
