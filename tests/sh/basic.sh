#!/usr/bin/env bash
# basic.sh: the user's first session, for real — init, info, mount, round trip
# of random data at the block-boundary sizes, the backing store holds no
# plaintext and no plaintext names, remount persistence, fsck, wrong key.
. "$(dirname "$0")/lib.sh"
setup
plan 23

check "init creates a volume with a new key file" init_volume
check "key file is mode 0600" test "$(stat -c %a "$KEY")" = 600
check "info prints the cipher" sh -c "'$PHIFS' info '$CIPHER' | grep -q 'AES-256-GCM'"
check "info --json is valid JSON" sh -c "'$PHIFS' info --json '$CIPHER' | /usr/bin/python3 -m json.tool"
check "mount returns once mounted" mount_volume
check "mount point is a mount" mountpoint -q "$MNT"

MARKER="PATIENT-MARKER-$(date +%s)-Jane-Doe-MRN-0042"
sizes="0 1 15 16 4095 4096 4097 1048589"
good=1
mkdir -p "$WORK/plain"
for s in $sizes; do
	head -c "$s" /dev/urandom > "$WORK/plain/f$s"
	cp "$WORK/plain/f$s" "$MNT/f$s" || good=0
	cmp -s "$WORK/plain/f$s" "$MNT/f$s" || { good=0; diag "size $s differs"; }
	[ "$(stat -c %s "$MNT/f$s")" = "$s" ] || { good=0; diag "size $s: stat says $(stat -c %s "$MNT/f$s")"; }
done
[ $good = 1 ] && ok "round trip at sizes $sizes" || not_ok "round trip at sizes $sizes"

mkdir "$MNT/Clinical-$MARKER"
printf '%s\n' "$MARKER" > "$MNT/Clinical-$MARKER/notes-$MARKER.txt"
for i in $(seq 50); do printf '%s line %d\n' "$MARKER" "$i"; done >> "$MNT/Clinical-$MARKER/notes-$MARKER.txt"
check "directory and file with PHI-like names readable" grep -q "$MARKER" "$MNT/Clinical-$MARKER/notes-$MARKER.txt"
check_fails "backing files contain no plaintext marker" grep -rqa "$MARKER" "$CIPHER"
check_fails "backing names contain no plaintext" sh -c "find '$CIPHER' | grep -q -e Clinical -e notes -e MARKER"
check "ls -l lists the plaintext names" sh -c "ls -l '$MNT' | grep -q 'Clinical-$MARKER'"
check "backing file of a 4097-byte file is ciphertext-sized" sh -c \
	"find '$CIPHER' -type f -size $((176 + 4128 + 1 + 32))c | grep -q ."
h1=$(sha "$MNT/f1048589")
check "umount" umount_volume
check_fails "not mounted after umount" mountpoint -q "$MNT"
check "remount" mount_volume
check "data persists across remount" test "$(sha "$MNT/f1048589")" = "$h1"
check "names persist across remount" test -f "$MNT/Clinical-$MARKER/notes-$MARKER.txt"
# Keys never reach a core file or swap: no core dumps (RLIMIT_CORE 0, not
# dumpable) and memory locked (VmLck > 0).
# (ASan reserves terabytes of shadow memory: mlockall fails there, warned.)
dpid=$(daemon_pid)
locked="awk '/^VmLck:/ { exit !(\$2 > 0) }' /proc/$dpid/status"
grep -q -- '-fsanitize' "$top_builddir/Makefile" 2>/dev/null && locked=true
check "the daemon cannot dump core and locks its memory" sh -c \
	"grep -q '^Max core file size  *0  *0 ' /proc/$dpid/limits && $locked"
umount_volume
check "fsck passes on a good volume" "$PHIFS" fsck "$CIPHER"

head -c 32 /dev/urandom > "$WORK/wrong.bin"; chmod 600 "$WORK/wrong.bin"
out=$("$PHIFS" mount -o kms="local:$WORK/wrong.bin" "$CIPHER" "$MNT" 2>&1); rc=$?
[ $rc -eq 3 ] && ok "wrong key refuses to mount (exit 3)" || not_ok "wrong key refuses to mount (exit $rc)"
echo "$out" | grep -q "wrong key" && ok "wrong key message is clear" || { not_ok "wrong key message is clear"; diag "$out"; }
check_fails "nothing mounted with the wrong key" mountpoint -q "$MNT"
chmod 644 "$KEY"
check_fails "a group/world-readable key file is refused" "$PHIFS" fsck "$CIPHER"
chmod 600 "$KEY"
finish
