#!/usr/bin/env bash
# bench/backup_incr.sh: an A/B of one step of bench/backup.sh alone — the
# incremental backup after 1 % of the small files changed — for two (or
# more) phifs-backup binaries, alternated round by round on one data set.
# The data set is bench/backup.sh's (/usr/include + N × M MiB random files in
# a mounted phifs volume; its cipher dir is backed up): a full backup, the
# scattered change and its incremental, then 1 % of the small files appended
# to. Every timed run is `backup --parent <that incremental>`, after dropping
# caches, and the objects it wrote are deleted again afterwards, so each run
# does the same work on the same repository.
# Usage (as root): bench/backup_incr.sh [--rounds N] [--large-mib N]
#                  [--large-files N] [--work DIR] BINARY...
# --work DIR keeps the data set in DIR (made on first use, reused after).
# Prints per round and binary: seconds, user and system CPU.
# A benchmark, not a test: it never fails on a number.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 large_mib=256 large_files=3 work=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--large-mib) large_mib=$2; shift 2 ;;
	--large-files) large_files=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-*) echo "usage: $0 [--rounds N] [--large-mib N] [--large-files N] [--work DIR] BINARY..." >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--rounds N] [--large-mib N] [--large-files N] [--work DIR] BINARY..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (mount, drop_caches)" >&2; exit 2; }
for b in "$@"; do [ -x "$b" ] || { echo "$b: not executable" >&2; exit 2; }; done
PHIFS="$root/tools/phifs/phifs" BK=$1
if [ -n "$work" ]; then mkdir -p "$work"; W=$(cd "$work" && pwd); else W=$(mktemp -d /var/tmp/phifs-bkincr.XXXXXX); fi
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && "$PHIFS" umount "$W/mnt" 2>/dev/null || true
	[ -n "$work" ] || rm -rf "$W"
}
trap cleanup EXIT
export PHIFS_REPO="$W/repo"
. "$root/bench/backup_data.sh"
prepare() {
	data_write
	"$BK" init --kms "local:$W/bk.key" --min-retention 0 >/dev/null
	"$BK" backup "$W/cipher" >/dev/null
	data_change 1 1            # the same changes as bench/backup.sh
	parent=$("$BK" backup --json "$W/cipher" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot"])')
	data_change 2 0
	"$PHIFS" umount "$W/mnt"
	(cd "$W/repo" && find . -type f | sort) >"$W/objects"
	echo "$parent" >"$W/parent"
}
[ -s "$W/parent" ] || prepare
parent=$(cat "$W/parent")

echo "incremental after 1 % of the files, --parent ${parent:0:16}; $(nproc) cores"
echo "| round | binary | elapsed (s) | user (s) | sys (s) | load |"
echo "|------:|--------|------------:|---------:|--------:|-----:|"
for r in $(seq "$rounds"); do
	for b in "$@"; do
		sync; echo 3 > /proc/sys/vm/drop_caches
		/usr/bin/time -f "%e %U %S" -o "$W/time" "$b" backup --parent "$parent" "$W/cipher" >/dev/null
		read -r e u s <"$W/time"
		echo "| $r | $b | $e | $u | $s | $(cut -d' ' -f1 /proc/loadavg) |"
		(cd "$W/repo" && find . -type f | sort) | comm -13 "$W/objects" - |
			(cd "$W/repo" && xargs -r rm -f)
	done
done
