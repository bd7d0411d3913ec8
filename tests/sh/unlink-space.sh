#!/usr/bin/env bash
# unlink-space.sh: deleting a file through the mount gives its backing space
# back within half a second when no handle is open (fs/inode_reap.c), and at
# the last close otherwise — not only when the kernel forgets the inode (docs/OPERATIONS.md "When the backing
# store fails"). The cipher directory lives on a 64 MiB tmpfs whose free space
# is read with df. An O_PATH descriptor held on the mount keeps the kernel's
# inode alive (no FORGET) without opening a handle, as a process's cwd or a
# pending lookup would; without the early release the space would stay used.
. "$(dirname "$0")/lib.sh"
setup
plan 8
SMALL="$WORK/small"
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" 2>/dev/null || umount -l "$MNT"; fi
	stop_daemon
	mountpoint -q "$SMALL" 2>/dev/null && { umount "$SMALL" 2>/dev/null || umount -l "$SMALL"; }
	teardown
}
trap cleanup EXIT
mkdir -p "$SMALL"
mount -t tmpfs -o size=64m,mode=0755 phifs-unlink "$SMALL" || bail "cannot mount a tmpfs"
CIPHER="$SMALL/cipher"
init_volume
mount_volume || bail "mount failed"

# Used MiB of the tmpfs, less the write journal's per-thread files (up to one
# max_write each, kept for reuse), which grow as more FUSE threads write.
used_mib() {
	local df_k j_k
	df_k=$(df -B1K --output=used "$SMALL" | tail -1 | tr -d ' ')
	j_k=$(du -sk "$CIPHER/phifs.journal" 2>/dev/null | cut -f1)
	echo $(((df_k - ${j_k:-0}) / 1024))
}
# below N: the used space drops under N MiB (a release reaches the daemon
# asynchronously after close, so the close cases wait for it).
below() { [ "$(used_mib)" -lt "$1" ]; }
head -c $((20 << 20)) /dev/urandom > "$WORK/data"
put() { cp "$WORK/data" "$MNT/$1" && sync -f "$MNT/$1" && stat "$MNT/$1" >/dev/null; }

base=$(used_mib)
put a
check "a 20 MiB file uses backing space" test "$(used_mib)" -ge $((base + 19))
# pin PATH CMD...: run CMD while an O_PATH descriptor on PATH is open.
pin() { python3 -c 'import os, subprocess, sys
fd = os.open(sys.argv[1], os.O_PATH)
r = subprocess.call(sys.argv[2:])
os.fstat(fd); os.close(fd); sys.exit(r)' "$@"; }
# freed_after CMD...: CMD, then the space is back (helpers for pin's bash -c).
freed_after() { "$@" && eventually below $((base + 5)); }
export -f freed_after below used_mib eventually
export base SMALL CIPHER
check "unlink with no handle open frees the space (within half a second)" \
	pin "$MNT/a" bash -c 'freed_after rm "$0"' "$MNT/a"

put b
# A handle open across the unlink: the space stays until its last close.
# (python: the O_PATH pin and the handle in one process, the checks between.)
export MNT
check "unlink with a handle open keeps the space, the handle reads every byte, the last close frees it" \
	python3 -c 'import os, subprocess, sys
p, data = sys.argv[1], open(sys.argv[2], "rb").read()
pin = os.open(p, os.O_PATH)
h = os.open(p, os.O_RDONLY)
os.unlink(p)
def sh(cmd): return subprocess.call(["bash", "-c", cmd]) == 0
kept = sh("test $(used_mib) -ge $((base + 19))")
back = os.pread(h, len(data) + 1, 0) == data
os.close(h)
freed = sh("eventually below $((base + 5))")
os.close(pin)
print("# kept %s, read back %s, freed %s" % (kept, back, freed))
sys.exit(0 if kept and back and freed else 1)' "$MNT/b" "$WORK/data"

put c
ln "$MNT/c" "$MNT/c2"
rm "$MNT/c"
check "unlinking one of two hard links keeps the space" test "$(used_mib)" -ge $((base + 19))
check "the other link reads every byte" cmp "$MNT/c2" "$WORK/data"
check "unlinking the last link frees the space" \
	pin "$MNT/c2" bash -c 'freed_after rm "$0"' "$MNT/c2"

put d
echo small > "$MNT/e"
check "a file replaced by rename gives its space back" \
	pin "$MNT/d" bash -c 'freed_after mv "$0" "$1"' "$MNT/e" "$MNT/d"
check "the renamed file reads back" test "$(cat "$MNT/d")" = small
umount_volume
finish
