#!/usr/bin/env bash
# bench/audit-cpu.sh: what auditing costs the daemon in CPU time — phifs with
# audit on and with audit=off (and optionally another phifs build with audit
# on, e.g. the previous commit's), the same workloads on each, the daemon's
# task-clock per workload from `perf stat -p`, and the audit writer thread's
# own CPU time (its /proc schedstat; builds that name it "phifs-audit"):
# building, sealing and writing the records, apart from the capture on the
# FUSE threads. CPU time is far steadier than wall time on a shared VM:
# untar's wall time there swings with other jobs and with ext4's inode
# allocation. docs/PERFORMANCE.md "Audit cost".
# Usage (as root): bench/audit-cpu.sh [--rounds N] [--base PHIFS_BINARY] [--dir DIR]
# This is a benchmark, not a test: it never fails on a number.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=4 base="" dir=/var/tmp
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--base) base=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--base PHIFS_BINARY] [--dir DIR]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (drop_caches, mounts)" >&2; exit 2; }
command -v perf >/dev/null || { echo "needs perf (linux-perf)" >&2; exit 2; }
PHIFS="$root/tools/phifs/phifs"
[ -x "$PHIFS" ] || { echo "build phifs first (make)" >&2; exit 2; }

W=$(mktemp -d "$dir/phifs-auditcpu.XXXXXX")
FSES="on off"
[ -z "$base" ] || FSES="base on off"
declare -A bin=([base]=$base [on]=$PHIFS [off]=$PHIFS) pid=()
cleanup() {
	for f in base on off; do mountpoint -q "$W/$f" 2>/dev/null && umount "$W/$f"; done
	find "$W" -maxdepth 2 -name '*.log' -exec chattr -a {} + 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
export PHIFS_AUDIT_KEYS_DIR="$W/audit-keys"
for f in $FSES; do
	mkdir -p "$W/$f" "$W/$f.back"
	"${bin[$f]}" init --kms "local:$W/kek.bin" "$W/$f.back" >/dev/null
	if [ "$f" = off ]; then opt=audit=off; else opt="audit=$W/audit-$f"; fi
	"${bin[$f]}" mount -o "$opt" --pidfile "$W/$f.pid" "$W/$f.back" "$W/$f" 2>/dev/null
	pid[$f]=$(cat "$W/$f.pid")
done
tar -C /usr -cf "$W/include.tar" include

# The audit writer thread's CPU time so far (ns), or "-" (unnamed: an older build).
writer_ns() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = phifs-audit ]; then
			awk '{print $1}' "$t/schedstat"; return
		fi
	done
	echo -
}
# The daemon's task-clock (ms) and the writer's CPU (ms, or "-") while "$@" runs.
cpu_ms() {
	local p=$1 sp w0 w1; shift
	perf stat -x, -e task-clock -p "$p" -o "$W/stat" 2>/dev/null & sp=$!
	sleep 0.3   # perf attaches
	w0=$(writer_ns "$p")
	"$@"
	w1=$(writer_ns "$p")
	kill -INT "$sp"; wait "$sp" 2>/dev/null || true
	awk -F, '/task-clock/ {printf "%.0f", $1}' "$W/stat"
	if [ "$w0" = - ] || [ "$w1" = - ]; then echo " -"; else echo " $(( (w1 - w0) / 1000000 ))"; fi
}
w_untar() { tar -C "$1" -xf "$W/include.tar"; sync; }
w_readall() { sync; echo 3 > /proc/sys/vm/drop_caches; find "$1/include" -type f -exec cat {} + >/dev/null; }
w_rmrf() { rm -rf "$1/include"; }
for r in $(seq "$rounds"); do
	order=$(echo $FSES | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r)%NR+1]}')
	for f in $order; do
		for w in untar readall rmrf; do
			read -r v wr < <(cpu_ms "${pid[$f]}" "w_$w" "$W/$f")
			echo "$w $f $v $wr" >> "$W/results"
			printf 'round %d %-4s %-8s %s ms (writer %s ms)\n' "$r" "$f" "$w" "$v" "$wr" >&2
		done
	done
done
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# The writer's median (ms) for fs f, workload w, or "-".
writer_median() {
	awk -v w="$1" -v f="$2" '$1==w && $2==f && $4!="-" {print $4}' "$W/results" | median
}
if [ -n "$base" ]; then
	echo "| workload | base audit on (ms) | audit on (ms) | audit=off (ms) | base cost | cost | writer (ms) |"
	echo "|---|---|---|---|---|---|---|"
else
	echo "| workload | audit on (ms) | audit=off (ms) | cost | writer (ms) |"
	echo "|---|---|---|---|---|"
fi
for w in untar readall rmrf; do
	declare -A m=()
	for f in $FSES; do m[$f]=$(awk -v w="$w" -v f="$f" '$1==w && $2==f {print $3}' "$W/results" | median); done
	c=$(echo "(${m[on]} / ${m[off]} - 1) * 100" | bc -l)
	wm=$(writer_median "$w" on)
	if [ -n "$base" ]; then
		cb=$(echo "(${m[base]} / ${m[off]} - 1) * 100" | bc -l)
		printf '| %s | %.0f | %.0f | %.0f | %+.0f%% | %+.0f%% | %s |\n' "$w" "${m[base]}" "${m[on]}" "${m[off]}" "$cb" "$c" "${wm:--}"
	else
		printf '| %s | %.0f | %.0f | %+.0f%% | %s |\n' "$w" "${m[on]}" "${m[off]}" "$c" "${wm:--}"
	fi
done
echo
echo "Daemon CPU time (perf stat task-clock), medians of $rounds rounds, order rotated; untar of /usr/include, readall cold, rm -rf."
echo "writer: the audit writer thread's own CPU time (its schedstat), audit on, median."
