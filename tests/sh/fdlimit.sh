#!/usr/bin/env bash
# fdlimit.sh: the daemon keeps one descriptor per inode the kernel has looked
# up, so it must not be bound by a small soft RLIMIT_NOFILE (1024 is common
# under cron and login shells): mounted from a shell with a soft limit of
# 256, a volume still takes 1,500 files that all stay in the kernel's cache,
# and the daemon's own limit has been raised.
. "$(dirname "$0")/lib.sh"
setup
plan 3
init_volume || bail "cannot init"
( ulimit -Sn 256 && mount_volume ) || bail "cannot mount"
dpid=$(daemon_pid)
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$dpid/limits")
[ "$soft" -gt 256 ] && ok "the daemon raised its soft open-files limit (256 → $soft)" \
	|| not_ok "open-files limit still $soft"
mkdir "$MNT/d"
fails=0
for i in $(seq 1500); do echo "$i" > "$MNT/d/f$i" || fails=$((fails + 1)); done
[ "$fails" -eq 0 ] && ok "1500 files created past the mounting shell's limit" || not_ok "$fails creates failed"
n=$(find "$MNT/d" -type f | wc -l)
[ "$n" -eq 1500 ] && [ "$(cat "$MNT/d/f1500")" = 1500 ] && ok "all 1500 listed and readable" || not_ok "listed $n"
umount_volume
finish
