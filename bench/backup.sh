#!/usr/bin/env bash
# bench/backup.sh: phifs-backup side by side with restic and borg (Debian
# packages: apt-get install restic borgbackup) in one run, on one data set:
# /usr/include plus a few large files written into a mounted phifs volume.
# All three back up the same bytes — the cipher directory, as a backup job
# without the volume key would — into a local repository: full backup, an
# incremental after ~1% of the data changed (random 4 KiB blocks of the large
# files and a few small files), a second incremental after a localized change
# (1% of the small files appended to, nothing else), a restore of the latest
# snapshot, and the repository size. Caches are dropped before every timed step.
# Besides times, a load-independent figure: bytes each step read from disk
# (getrusage ru_inblock of the tool, after dropping caches), and for
# phifs-backup the bytes of cipher files it read (its --json bytes_read).
# (scripts/install-deps.sh --bench installs them.)
# Times are of the tool's process alone (from its start to its exit, taken
# by the wrapper that starts it), not of the wrapper's own start.
# Usage (as root): bench/backup.sh [--large-mib N] [--large-files N]
#                  [--chunk-size SIZE (phifs-backup init; default 1M)] [--no-patches]
#                  [--out FILE] [--phifs-backup BINARY (default: the build's)]
# (--no-patches: phifs-backup backup --no-patches, the A/B of BACKUP_FORMAT.md §6.3)
# A benchmark, not a test: it never fails on a number.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
large_mib=256 large_files=3 out="" chunk=1M bkopt=() BK="$root/tools/phifs-backup/phifs-backup"
while [ $# -gt 0 ]; do
	case "$1" in
	--large-mib) large_mib=$2; shift 2 ;;
	--large-files) large_files=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--chunk-size) chunk=$2; shift 2 ;;
	--no-patches) bkopt=(--no-patches); shift ;;
	--phifs-backup) BK=$(realpath "$2"); shift 2 ;;
	*) echo "usage: $0 [--large-mib N] [--large-files N] [--chunk-size SIZE] [--no-patches] [--out FILE] [--phifs-backup BINARY]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (mount, drop_caches)" >&2; exit 2; }
for p in restic borg; do
	command -v $p >/dev/null || { echo "missing $p: apt-get install restic borgbackup" >&2; exit 2; }
done
PHIFS="$root/tools/phifs/phifs"
[ -x "$BK" ] || { echo "build first (make)" >&2; exit 2; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
W=$(mktemp -d /var/tmp/phifs-bkbench.XXXXXX)
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && "$PHIFS" umount "$W/mnt" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export PHIFS_REPO="$W/phifs-repo" RESTIC_REPOSITORY="$W/restic-repo"

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# timed NAME CMD...: milliseconds of CMD after dropping caches, into T[NAME];
# bytes it read from disk into IO[NAME]; its stdout in $W/out
declare -A T IO
timed() {
	local k=$1; shift; drop
	/usr/bin/python3 -c 'import resource, subprocess, sys, time
out, err = open(sys.argv[1] + "/out", "w"), open(sys.argv[1] + "/err", "w")
t0 = time.monotonic()
rc = subprocess.run(sys.argv[2:], stdout=out, stderr=err).returncode
open(sys.argv[1] + "/ms", "w").write(str(round((time.monotonic() - t0) * 1000)))
open(sys.argv[1] + "/io", "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock * 512))
sys.exit(rc)' "$W" "$@" || { cat "$W/err" >&2; exit 1; }
	T[$k]=$(cat "$W/ms"); IO[$k]=$(cat "$W/io")
}
# phifs-backup's own count of cipher bytes read (--json), into R[NAME]
declare -A R
phifs_timed() { timed "$1" "$BK" backup --json ${bkopt[@]+"${bkopt[@]}"} "$W/cipher"; R[$1]=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["bytes_read"])' "$W/out"); }

. "$root/bench/backup_data.sh"
data_write
data=$(du -sb "$W/cipher" | cut -f1)

"$BK" init --kms "local:$W/bk.key" --min-retention 0 --chunk-size "$chunk" >/dev/null
restic init >/dev/null 2>&1
borg init -e repokey-blake2 "$W/borg-repo" >/dev/null 2>&1

phifs_timed phifs_full
timed restic_full restic backup "$W/cipher"
timed borg_full borg create "$W/borg-repo::full" "$W/cipher"


data_change 1 1     # ~1% of the bytes, scattered
phifs_timed phifs_incr
timed restic_incr restic backup "$W/cipher"
timed borg_incr borg create "$W/borg-repo::incr" "$W/cipher"

data_change 2 0     # localized: 1% of the small files only
phifs_timed phifs_incr2
timed restic_incr2 restic backup "$W/cipher"
timed borg_incr2 borg create "$W/borg-repo::incr2" "$W/cipher"

timed phifs_restore "$BK" restore latest --target "$W/r-phifs"
timed restic_restore restic restore latest --target "$W/r-restic"
mkdir -p "$W/r-borg"
timed borg_restore sh -c "cd '$W/r-borg' && borg extract '$W/borg-repo::incr2'"

size() { du -sb "$1" | cut -f1; }
S_phifs=$(size "$W/phifs-repo") S_restic=$(size "$W/restic-repo") S_borg=$(size "$W/borg-repo")
sec() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" -v p="${3:-2}" 'BEGIN { printf "%.*f", p, a / b }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
report() {
	echo "Data: /usr/include + $large_files × $large_mib MiB random files in a phifs volume; cipher dir $(mib "$data") MiB; phifs-backup chunks $chunk${bkopt[@]+ ${bkopt[*]}}."
	echo "$(date -u +%F), $(nproc) cores; restic $(restic version | cut -d' ' -f2), borg $(borg --version | cut -d' ' -f2); load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after."
	echo
	echo "| step | phifs-backup | restic | borg | restic ÷ phifs |"
	echo "|------|-------------:|-------:|-----:|---------------:|"
	for s in full incr incr2 restore; do
		eval "p=\${T[phifs_$s]} r=\${T[restic_$s]} b=\${T[borg_$s]}"
		case $s in
		incr) label="incremental, 1% scattered blocks (s)" ;;
		incr2) label="incremental, 1% of the files (s)" ;;
		*) label="$s (s)" ;;
		esac
		echo "| $label | $(sec "$p") | $(sec "$r") | $(sec "$b") | $(ratio "$r" "$p") |"
	done
	echo "| repository (MiB) | $(mib "$S_phifs") | $(mib "$S_restic") | $(mib "$S_borg") | $(ratio "$S_restic" "$S_phifs") |"
	for s in full incr incr2 restore; do
		eval "p=\${IO[phifs_$s]} r=\${IO[restic_$s]} b=\${IO[borg_$s]}"
		echo "| $s: read from disk (MiB) | $(mib "$p") | $(mib "$r") | $(mib "$b") | $(ratio "$r" "$((p > 0 ? p : 1))") |"
	done
	echo
	echo "phifs incremental / full: scattered $(ratio "${T[phifs_incr]}" "${T[phifs_full]}" 3), files $(ratio "${T[phifs_incr2]}" "${T[phifs_full]}" 3) (time);"
	echo "cipher bytes read (--json bytes_read): full $(mib "${R[phifs_full]}") MiB, scattered $(mib "${R[phifs_incr]}") MiB ($(ratio "${R[phifs_incr]}" "${R[phifs_full]}")), files $(mib "${R[phifs_incr2]}") MiB ($(ratio "${R[phifs_incr2]}" "${R[phifs_full]}"))"
}
report | tee ${out:+"$out"}
