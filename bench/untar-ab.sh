#!/usr/bin/env bash
# bench/untar-ab.sh: untar of /usr/include into phifs under several
# configurations (e.g. audit on and audit=off, or two builds), each run on an
# ext4 made for that run alone (a loop image), configurations rotated each
# round; prints each run and the medians of wall time and the daemon's CPU
# time (utime + stime of all its threads). A fresh file system per run takes
# out what bench/run.sh's shared --dir carries from run to run (ext4's scan
# for recently deleted inodes, allocation state), which swings untar by more
# than the audit cost measured (docs/PERFORMANCE.md "Audit cost").
# Usage (as root): bench/untar-ab.sh [--rounds N] [--no-journal] [--dir DIR]
#                                    NAME=PHIFS_BINARY:MOUNT_OPTIONS ...
# MOUNT_OPTIONS "audit" means audit=<a spool dir on the run's file system>;
# e.g. bench/untar-ab.sh on=tools/phifs/phifs:audit off=tools/phifs/phifs:audit=off
# This is a benchmark, not a test: it never fails on a number.
set -euo pipefail
rounds=5 mkfs_opt=() dir=/var/tmp
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--no-journal) mkfs_opt=(-O ^has_journal); shift ;;
	--dir) dir=$2; shift 2 ;;
	*=*) break ;;
	*) echo "usage: $0 [--rounds N] [--no-journal] [--dir DIR] NAME=BIN:OPTS ..." >&2; exit 2 ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--rounds N] [--no-journal] [--dir DIR] NAME=BIN:OPTS ..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (mounts, drop_caches)" >&2; exit 2; }
confs=("$@")
W=$(mktemp -d "$dir/phifs-untar-ab.XXXXXX")
mnt=$W/fs img=$W/fs.img tk=$(getconf CLK_TCK)
mkdir -p "$mnt"
cleanup() {
	mountpoint -q "$mnt/m" 2>/dev/null && umount "$mnt/m"
	if mountpoint -q "$mnt" 2>/dev/null; then chattr -R -a "$mnt/a" 2>/dev/null || true; umount "$mnt"; fi
	rm -rf "$W"
}
trap cleanup EXIT
tar -C /usr -cf "$W/include.tar" include

# one BIN OPTS: "wall_s cpu_ms" of one untar on a new file system
one() {
	local bin=$1 opt=$2 pid t0 t1 cpu
	[ "$opt" = audit ] && opt="audit=$mnt/a"
	truncate -s 8G "$img"
	mkfs.ext4 -q -F "${mkfs_opt[@]}" "$img"
	mount -o loop "$img" "$mnt"
	mkdir -p "$mnt/b" "$mnt/m" "$mnt/a"
	"$bin" init --kms "local:$mnt/k" "$mnt/b" >/dev/null
	"$bin" mount -o "$opt" --pidfile "$W/pid" "$mnt/b" "$mnt/m" 2>/dev/null
	pid=$(cat "$W/pid")
	sync; echo 3 > /proc/sys/vm/drop_caches
	t0=$(date +%s.%N)
	tar -C "$mnt/m" -xf "$W/include.tar"; sync
	t1=$(date +%s.%N)
	cpu=$(awk -v tk="$tk" '{print int(($14 + $15) * 1000 / tk)}' "/proc/$pid/stat")
	umount "$mnt/m"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	chattr -R -a "$mnt/a" 2>/dev/null || true
	umount "$mnt"; rm -f "$img"
	echo "$(echo "$t1 - $t0" | bc -l) $cpu"
}

n=${#confs[@]}
for r in $(seq "$rounds"); do
	for k in $(seq 0 $((n - 1))); do
		c=${confs[$(((k + r) % n))]}
		name=${c%%=*} rest=${c#*=}
		echo "$r $name $(one "${rest%%:*}" "${rest#*:}") $(cut -d' ' -f1 /proc/loadavg)"
	done
done | tee "$W/runs" >&2
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "| configuration | wall median (s) | daemon CPU median (ms) | runs |"
echo "|---|---|---|---|"
for c in "${confs[@]}"; do
	name=${c%%=*}
	printf '| %s | %.3f | %.0f | %d |\n' "$name" \
		"$(awk -v n="$name" '$2 == n {print $3}' "$W/runs" | median)" \
		"$(awk -v n="$name" '$2 == n {print $4}' "$W/runs" | median)" \
		"$(awk -v n="$name" '$2 == n' "$W/runs" | wc -l)"
done
echo
echo "Rounds: $rounds, configurations rotated; each run on a new ext4${mkfs_opt:+ without journal} (8 GiB loop image in $dir); $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
