#!/usr/bin/env bash
# bench/run.sh: phifs side by side with gocryptfs, libfuse's passthrough_ll (a
# no-crypto FUSE bound) and the native directory, in one run, alternating the
# order each round; reports medians and ratios as a Markdown table.
# Usage (as root): bench/run.sh [--rounds N] [--size-mib N] [--out FILE] [--only W1,W2] [--dir DIR]
#                                [--audit-overhead] [--audit-dir DIR] [--fresh-ext4 GIB]
# --dir: where the backing directories live (default /var/tmp, i.e. the disk;
# /dev/shm takes the disk out and compares CPU cost per byte).
# --fresh-ext4 GIB: the backing directories (and the spool, unless --audit-dir)
# on an ext4 made for this run (default mkfs options, with its journal) in a
# sparse GIB GiB image file under --dir, on a loop device: a server's usual
# file system, without the history of the --dir file system (an ext4 that has
# seen millions of deletions scans for recently deleted inodes at each create,
# which swings untar by more than the differences measured). For comparing
# phifs with itself (--audit-overhead): the loop device turns every fsync
# into an fsync of the image file as well, which costs phifs (it syncs each
# new directory's id) and not gocryptfs (it syncs nothing), so the ratios to
# the other systems are the disk's (--dir), not this.
# phifs runs as installed: auditing on (coalesced summaries, hmac paths; the
# spool in the bench dir). --audit-overhead adds phifs with audit=off to the
# same run and a column with what auditing costs (issue target: <= 5%).
# --audit-dir: put the spool in DIR instead (e.g. a file system of its own,
# as docs/OPERATIONS.md advises; default: the bench dir, the same disk).
# Workloads: seqwrite seqread untar lsR readall rmrf rand4k (seqread needs
# seqwrite; lsR, readall and rmrf need untar).
# This is a benchmark, not a test: it never fails on a number.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 size_mib=1024 out="" only="" base=/var/tmp audit_overhead=0 audit_dir="" fresh_gib=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--dir) base=$2; shift 2 ;;
	--audit-overhead) audit_overhead=1; shift ;;
	--audit-dir) audit_dir=$2; shift 2 ;;
	--fresh-ext4) fresh_gib=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--size-mib N] [--out FILE] [--only W1,W2] [--dir DIR] [--audit-overhead] [--audit-dir DIR] [--fresh-ext4 GIB]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (drop_caches, mounts)" >&2; exit 2; }
need=()
for p in gocryptfs fio bc; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PHIFS="$root/tools/phifs/phifs"
[ -x "$PHIFS" ] || { echo "build phifs first (make)" >&2; exit 2; }

fresh_mnt=""
if [ -n "$fresh_gib" ]; then
	fresh_img=$(mktemp "$base/phifs-bench-ext4.XXXXXX")
	fresh_mnt=$(mktemp -d /mnt/phifs-bench-ext4.XXXXXX)
	truncate -s "${fresh_gib}G" "$fresh_img"
	mkfs.ext4 -q -F "$fresh_img"
	mount -o loop "$fresh_img" "$fresh_mnt"
	rm -f "$fresh_img"   # the loop device keeps it until the unmount
	base=$fresh_mnt
fi
W=$(mktemp -d "$base/phifs-bench.XXXXXX")
spool=$W/audit
[ -z "$audit_dir" ] || spool=$(mktemp -d "$audit_dir/phifs-bench-audit.XXXXXX")
FSES="native passthrough gocryptfs phifs"
[ "$audit_overhead" -eq 0 ] || FSES="$FSES phifsna"
cleanup() {
	for f in passthrough gocryptfs phifs phifsna; do
		mountpoint -q "$W/$f" 2>/dev/null && umount "$W/$f" 2>/dev/null || true
	done
	find "$W" "$spool" -maxdepth 2 -name '*.log' -exec chattr -a {} + 2>/dev/null
	rm -rf "$W" "$spool"
	if [ -n "$fresh_mnt" ]; then umount "$fresh_mnt" && rmdir "$fresh_mnt"; fi
}
trap cleanup EXIT

gcc -O2 -o "$W/passthrough_ll" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
	$(pkg-config fuse3 --cflags --libs)
mkdir -p "$W"/{native,passthrough,gocryptfs,phifs,phifsna} "$W"/{pt,gc,ph,pn}.back
"$W/passthrough_ll" -o source="$W/pt.back" "$W/passthrough"
echo bench-password > "$W/pw"
gocryptfs -q -init -passfile "$W/pw" -scryptn 10 "$W/gc.back" >/dev/null
gocryptfs -q -passfile "$W/pw" "$W/gc.back" "$W/gocryptfs"
"$PHIFS" init --kms "local:$W/kek.bin" "$W/ph.back" >/dev/null
export PHIFS_AUDIT_KEYS_DIR="$W/audit-keys"
"$PHIFS" mount -o "audit=$spool" "$W/ph.back" "$W/phifs"
if [ "$audit_overhead" -eq 1 ]; then
	"$PHIFS" init --kms "local:$W/kek.bin" "$W/pn.back" >/dev/null
	"$PHIFS" mount -o audit=off "$W/pn.back" "$W/phifsna" 2>/dev/null
fi
tar -C /usr -cf "$W/include.tar" include

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
# Each workload prints a number: seconds, or MiB/s / IOPS where noted.
w_seqwrite() { local t0; t0=$(now); dd if=/dev/zero of="$1/big" bs=1M count="$size_mib" conv=fsync status=none; echo "$size_mib / ($(now) - $t0)" | bc -l; }
w_seqread() { local t0; drop; t0=$(now); dd if="$1/big" of=/dev/null bs=1M status=none; echo "$size_mib / ($(now) - $t0)" | bc -l; rm -f "$1/big"; }
w_untar() { local t0; t0=$(now); tar -C "$1" -xf "$W/include.tar"; sync; echo "$(now) - $t0" | bc -l; }
w_lsR() { local t0; drop; t0=$(now); ls -lR "$1/include" >/dev/null; echo "$(now) - $t0" | bc -l; }
w_readall() { local t0; drop; t0=$(now); find "$1/include" -type f -exec cat {} + >/dev/null; echo "$(now) - $t0" | bc -l; }
w_rmrf() { local t0; t0=$(now); rm -rf "$1/include"; echo "$(now) - $t0" | bc -l; }
w_rand4k() {
	fio --name=r --directory="$1" --size=256M --bs=4k --rw=randrw --ioengine=psync \
		--time_based --runtime=8 --output-format=json 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["read"]["iops"]+j["write"]["iops"])'
	rm -f "$1"/r.*
}
WORKLOADS="seqwrite seqread untar lsR readall rmrf rand4k"
[ -z "$only" ] || WORKLOADS=$(echo "$only" | tr ',' ' ')
declare -A unit=([seqwrite]="MiB/s" [seqread]="MiB/s" [untar]="s" [lsR]="s" [readall]="s" [rmrf]="s" [rand4k]="IOPS")
declare -A higher=([seqwrite]=1 [seqread]=1 [rand4k]=1)

for r in $(seq "$rounds"); do
	order=$(echo $FSES | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r)%NR+1]}')
	for f in $order; do
		for w in $WORKLOADS; do
			v=$("w_$w" "$W/$f")
			echo "$w $f $v" >> "$W/results"
			printf 'round %d %-11s %-8s %s %s\n' "$r" "$f" "$w" "$v" "${unit[$w]}" >&2
		done
	done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
{
	if [ "$audit_overhead" -eq 1 ]; then
		echo "| workload | unit | native | passthrough_ll | gocryptfs | phifs | phifs vs gocryptfs | phifs vs passthrough | phifs audit=off | audit cost |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
	else
		echo "| workload | unit | native | passthrough_ll | gocryptfs | phifs | phifs vs gocryptfs | phifs vs passthrough |"
		echo "|---|---|---|---|---|---|---|---|"
	fi
	for w in $WORKLOADS; do
		declare -A m=()
		for f in $FSES; do m[$f]=$(awk -v w="$w" -v f="$f" '$1==w && $2==f {print $3}' "$W/results" | median); done
		if [ -n "${higher[$w]:-}" ]; then
			rg=$(echo "${m[phifs]} / ${m[gocryptfs]}" | bc -l); rp=$(echo "${m[phifs]} / ${m[passthrough]}" | bc -l)
		else
			rg=$(echo "${m[gocryptfs]} / ${m[phifs]}" | bc -l); rp=$(echo "${m[passthrough]} / ${m[phifs]}" | bc -l)
		fi
		printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f× | %.2f× |' "$w" "${unit[$w]}" \
			"${m[native]}" "${m[passthrough]}" "${m[gocryptfs]}" "${m[phifs]}" "$rg" "$rp"
		if [ "$audit_overhead" -eq 1 ]; then
			# cost: how much slower phifs is with its audit trail than without (%)
			if [ -n "${higher[$w]:-}" ]; then
				ac=$(echo "(${m[phifsna]} / ${m[phifs]} - 1) * 100" | bc -l)
			else
				ac=$(echo "(${m[phifs]} / ${m[phifsna]} - 1) * 100" | bc -l)
			fi
			printf ' %.2f | %+.1f%% |' "${m[phifsna]}" "$ac"
		fi
		echo
	done
	echo
	echo "Ratios: >1 means phifs is faster (throughput ratio, or inverse time ratio). Medians of $rounds rounds, order rotated each round; $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM, $(uname -r), sequential size $size_mib MiB, cold cache for reads (drop_caches), backing directories on $(findmnt -no FSTYPE -T "$W")${fresh_gib:+ made for this run (--fresh-ext4)}."
} | if [ -n "$out" ]; then tee "$out"; else cat; fi
