#!/usr/bin/env bash
# crash.sh: kill -9 of the daemon in the middle of busy writes, appends and
# truncations (docs/FORMAT.md §5.5) never leaves a file unreadable: after each
# of several kills, fsck finds nothing worse than a torn extension (a kill
# between an extension's last two steps, §5.5), every file reads to its end, and a
# remount takes writes again.
. "$(dirname "$0")/lib.sh"
setup
KILLS=6
plan $((KILLS * 3 + 4))
PY=/usr/bin/python3
init_volume
cat > "$WORK/writer.py" <<'PYEOF'
import os, random, sys
mnt = sys.argv[1]; rnd = random.Random(int(sys.argv[2]))
names = ["f%d" % i for i in range(6)]
while True:
    try:
        p = os.path.join(mnt, rnd.choice(names))
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
        op = rnd.random(); size = os.fstat(fd).st_size
        if op < 0.5:
            os.pwrite(fd, os.urandom(rnd.randint(1, 300000)), rnd.randint(0, size + 20000))
        elif op < 0.7:
            os.lseek(fd, 0, os.SEEK_END); os.write(fd, os.urandom(rnd.randint(1, 9000)))
        elif op < 0.9:
            os.ftruncate(fd, rnd.randint(0, size + 50000))
        else:
            os.pwrite(fd, b"x", rnd.randint(0, 40 << 20))      # sparse extension
        os.close(fd)
    except OSError:
        sys.exit(0)                                             # the mount died under us
PYEOF
for k in $(seq "$KILLS"); do
	mount_volume || { echo "Bail out! cannot mount"; exit 1; }
	$PY "$WORK/writer.py" "$MNT" "$k" & wpid=$!
	$PY "$WORK/writer.py" "$MNT" "$((k + 100))" & wpid2=$!
	sleep "0.$((3 + 2 * k))"
	kill -0 "$wpid" 2>/dev/null || diag "writer stopped before the kill"
	dpid=$(daemon_pid); kill -9 "$dpid"
	# fsck rightly leaves a live daemon's journal alone: wait for it to be gone.
	wait_gone "$dpid" 300 || diag "daemon $dpid still exiting after 30 s"
	wait "$wpid" "$wpid2" 2>/dev/null
	umount -l "$MNT" 2>/dev/null; fusermount3 -uz "$MNT" 2>/dev/null
	rm -f "$WORK/phifs.pid"
	fsck_after_crash "kill $k"
	mount_volume || { echo "Bail out! cannot remount"; exit 1; }
	diag "after kill $k: $(ls "$MNT" | wc -l) files, $(du -sh --apparent-size "$MNT" | cut -f1) apparent"
	bad=0
	for f in "$MNT"/f*; do [ -e "$f" ] || continue; cat "$f" > /dev/null || bad=1; done
	[ $bad = 0 ] && ok "kill $k: every file reads to its end" || not_ok "kill $k: every file reads to its end"
	check "kill $k: the remounted volume takes writes" sh -c "echo after > '$MNT/after' && grep -q after '$MNT/after'"
	umount_volume
done
# The volume lock: one daemon per cipher directory; fsck of a mounted volume says so.
mount_volume || { echo "Bail out! cannot mount"; exit 1; }
mkdir -p "$WORK/mnt2"
out=$("$PHIFS" mount --pidfile "$WORK/second.pid" "$CIPHER" "$WORK/mnt2" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "in use" && ok "a second mount of the volume is refused" \
	|| { not_ok "a second mount of the volume is refused"; diag "rc=$rc $out"; umount "$WORK/mnt2"; }
check "fsck of a mounted volume says it is mounted" sh -c "'$PHIFS' fsck --json '$CIPHER' | tail -1 | grep -q '\"mounted\": *true'"
umount_volume
check "fsck is clean at the end" "$PHIFS" fsck "$CIPHER"
check "fsck of the unmounted volume does not say mounted" sh -c "'$PHIFS' fsck --json '$CIPHER' | tail -1 | grep -q '\"mounted\": *false'"
finish
