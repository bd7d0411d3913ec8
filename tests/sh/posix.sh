#!/usr/bin/env bash
# posix.sh: ordinary POSIX use through a real mount — random-offset writes
# against a plain-file model, truncate up/down, append, sparse files beyond
# 4 GiB, rename (across directories, over a file, NOREPLACE, EXCHANGE), hard
# links, symlinks, xattrs, fifos, long names, chmod/chown as another uid, and
# two concurrent writers to one file.
. "$(dirname "$0")/lib.sh"
setup
plan 27
PY=/usr/bin/python3
init_volume && mount_volume || { echo "Bail out! cannot mount"; exit 1; }

# Random-offset writes/truncates, the same ops on a plain file and on phifs.
$PY - "$MNT/model" "$WORK/model" <<'PYEOF'
import os, random, sys
rnd = random.Random(1234)
fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o644) for p in sys.argv[1:]]
for i in range(1500):
    op = rnd.random()
    if op < 0.75:
        off = rnd.randrange(0, 300000); n = rnd.randrange(1, 20000)
        data = os.urandom(n)
        for fd in fds: os.pwrite(fd, data, off)
    elif op < 0.9:
        size = rnd.randrange(0, 320000)
        for fd in fds: os.ftruncate(fd, size)
    else:
        off = rnd.randrange(0, 320000); n = rnd.randrange(1, 70000)
        a, b = (os.pread(fd, n, off) for fd in fds)
        if a != b: sys.exit("read mismatch at op %d" % i)
for fd in fds: os.close(fd)
PYEOF
[ $? -eq 0 ] && ok "1500 random writes/truncates/reads match a plain-file model" || not_ok "random ops match a plain-file model"
check "final content matches the model" cmp "$MNT/model" "$WORK/model"

head -c 10000 /dev/urandom > "$WORK/t"; cp "$WORK/t" "$MNT/t"
truncate -s 3000 "$MNT/t"; truncate -s 3000 "$WORK/t"
check "truncate down" cmp "$MNT/t" "$WORK/t"
truncate -s 20000 "$MNT/t"; truncate -s 20000 "$WORK/t"
check "truncate up reads zeros in the new part" cmp "$MNT/t" "$WORK/t"
printf 'appended-1\n' >> "$MNT/t"; printf 'appended-1\n' >> "$WORK/t"
printf 'appended-2\n' >> "$MNT/t"; printf 'appended-2\n' >> "$WORK/t"
check "append" cmp "$MNT/t" "$WORK/t"
: > "$MNT/t"
check "O_TRUNC empties the file" test "$(stat -c %s "$MNT/t")" = 0

truncate -s 5G "$MNT/sparse"
printf 'tail-of-a-5GiB-file' | dd of="$MNT/sparse" bs=1 seek=$((5 * 1024 * 1024 * 1024 - 19)) conv=notrunc status=none
check "5 GiB sparse file has the right size" test "$(stat -c %s "$MNT/sparse")" = $((5 * 1024 * 1024 * 1024))
check "its hole reads as zeros" $PY -c "import sys; f=open('$MNT/sparse','rb'); f.seek(3000<<20); d=f.read(4<<20); sys.exit(d != bytes(4<<20))"
check "its tail round-trips past 4 GiB" sh -c "tail -c 19 '$MNT/sparse' | grep -q tail-of-a-5GiB-file"
check "the backing file stays sparse" test "$(du -k "$(find "$CIPHER" -type f -size +4G | head -1)" | cut -f1)" -lt 10240

mkdir -p "$MNT/a/b" "$MNT/c"
echo one > "$MNT/a/b/f1"; echo two > "$MNT/c/f2"
mv "$MNT/a/b/f1" "$MNT/c/moved"
check "rename across directories" sh -c "test \"\$(cat '$MNT/c/moved')\" = one && test ! -e '$MNT/a/b/f1'"
mv -f "$MNT/c/moved" "$MNT/c/f2"
check "rename over an existing file" test "$(cat "$MNT/c/f2")" = one
echo x > "$MNT/c/x"; echo y > "$MNT/c/y"
$PY - "$MNT/c/x" "$MNT/c/y" <<'PYEOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
a, b = (p.encode() for p in sys.argv[1:])
# RENAME_NOREPLACE (1) must refuse; RENAME_EXCHANGE (2) must swap.
if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, 1) == 0 or ctypes.get_errno() != 17:
    sys.exit("NOREPLACE did not fail with EEXIST")
if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, 2) != 0:
    sys.exit("EXCHANGE failed: %d" % ctypes.get_errno())
PYEOF
[ $? -eq 0 ] && ok "RENAME_NOREPLACE refuses, RENAME_EXCHANGE succeeds" || not_ok "renameat2 flags"
check "RENAME_EXCHANGE swapped the contents" sh -c "test \"\$(cat '$MNT/c/x')\" = y && test \"\$(cat '$MNT/c/y')\" = x"
mv "$MNT/a" "$MNT/c/a-moved"
check "directory renamed into another directory keeps its contents" test -d "$MNT/c/a-moved/b"

ln "$MNT/c/x" "$MNT/c/x-link"
echo changed >> "$MNT/c/x-link"
check "hard link shares content and link count" sh -c "grep -q changed '$MNT/c/x' && test \"\$(stat -c %h '$MNT/c/x')\" = 2"
ln -s "../c/x-target-Jane-Doe" "$MNT/a-symlink"
check "symlink target round-trips" test "$(readlink "$MNT/a-symlink")" = "../c/x-target-Jane-Doe"
check_fails "symlink target is not stored in plaintext" sh -c "find '$CIPHER' -type l -exec readlink {} \\; | grep -q Jane-Doe"
setfattr -n user.patient -v "Jane-Doe-xattr" "$MNT/c/x"
check "user xattr round-trips" sh -c "getfattr --only-values -n user.patient '$MNT/c/x' | grep -q Jane-Doe-xattr"
check_fails "xattr value and name are not stored in plaintext" sh -c "getfattr -d -m - '$CIPHER'/*/* 2>/dev/null | grep -q -e Jane-Doe -e patient"
mkfifo "$MNT/c/fifo"
check "mkfifo makes a fifo" test -p "$MNT/c/fifo"
long=$(printf 'L%.0s' $(seq 250))
echo long > "$MNT/c/$long"
check "a 250-byte name works (long-name side file)" test "$(cat "$MNT/c/$long")" = long
check "readdir lists the long name" sh -c "ls '$MNT/c' | grep -qx '$long'"

chmod 755 "$MNT"   # the volume root starts 0700, like the cipher dir
mkdir "$MNT/shared"; chmod 1777 "$MNT/shared"
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo nobody > '$MNT/shared/n'" 2>/dev/null
check "another uid creates a file it owns" test "$(stat -c %u "$MNT/shared/n")" = 65534
check_fails "another uid cannot chmod root's file" setpriv --reuid=65534 --regid=65534 --clear-groups chmod 777 "$MNT/c/x"
chown 65534:65534 "$MNT/c/y"; chmod 600 "$MNT/c/y"
check "chown and chmod by root apply" test "$(stat -c '%u %a' "$MNT/c/y")" = "65534 600"

# Two writers on one file at once: disjoint 1 MiB regions, then compare.
head -c $((4 * 1048576)) /dev/urandom > "$WORK/cw"
: > "$MNT/cw"
for k in 0 1 2 3; do
	dd if="$WORK/cw" of="$MNT/cw" bs=64k skip=$((k * 16)) seek=$((k * 16)) count=16 conv=notrunc status=none &
done
wait
check "four concurrent writers to one file" cmp "$MNT/cw" "$WORK/cw"
umount_volume
finish
