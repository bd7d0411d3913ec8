#!/usr/bin/env bash
# bench/kms.sh: KMS operations per mount and per file open, and mount time,
# for each key provider this machine can run (local always; PKCS#11 on a
# throwaway SoftHSM2 token and KMIP on a local PyKMIP server when their peer
# scripts exist). The daemon logs "KMS operations: N to mount, M while
# mounted"; M over N_FILES creates + N_FILES cold opens is the per-open cost,
# which in the default wrap mode is 0. Each provider that has one also runs in
# per-file KMS mode (init --wrap per-file-kms): one KMS wrap per create (drawn
# ahead by the pool, which also fills once at mount) and one unwrap per cold
# open. A benchmark: never fails on a number.
# Usage (as root): bench/kms.sh [--files N] [--out FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
files=1000 out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--files) files=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: $0 [--files N] [--out FILE]" >&2; exit 2 ;;
	esac
done
PHIFS="$root/tools/phifs/phifs"
[ -x "$PHIFS" ] || { echo "build phifs first (make)" >&2; exit 2; }
W=$(mktemp -d /var/tmp/phifs-kmsbench.XXXXXX)
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt" 2>/dev/null || true
	[ -n "${PEER_STOP:-}" ] && eval "$PEER_STOP" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

ms() { date +%s%3N; }

# run_one NAME URI [INIT-ARGS...]: one volume on URI; prints a table row.
run_one() {
	local name=$1 uri=$2 c="$W/$1.cipher" t0 t1 line
	shift 2
	mkdir -p "$c" "$W/mnt"
	"$PHIFS" init --kms "$uri" "$@" "$c" >/dev/null
	t0=$(ms)
	"$PHIFS" mount -f "$c" "$W/mnt" 2>"$W/$name.log" &
	for _ in $(seq 200); do mountpoint -q "$W/mnt" && break; sleep 0.02; done
	t1=$(ms)
	for i in $(seq "$files"); do echo "$i" > "$W/mnt/f$i"; done
	umount "$W/mnt"; wait
	"$PHIFS" mount -f "$c" "$W/mnt" 2>"$W/$name.2.log" &
	for _ in $(seq 200); do mountpoint -q "$W/mnt" && break; sleep 0.02; done
	cat "$W"/mnt/f* > /dev/null
	umount "$W/mnt"; wait
	line=$(grep -h "KMS operations" "$W/$name.log" | tail -1)
	local at=${line#*operations: }; at=${at%% to mount*}
	local during=${line#*to mount, }; during=${during%% while*}
	local opens=$(grep -h "KMS operations" "$W/$name.2.log" | tail -1 | sed 's/.*to mount, \([0-9]*\) while.*/\1/')
	printf '| %s | %d | %s | %s | %s |\n' "$name" $((t1 - t0)) "$at" "$during" "$opens"
}

{
	echo "| provider | mount (ms) | KMS ops to mount | KMS ops for $files creates | KMS ops for $files cold opens |"
	echo "|---|---|---|---|---|"
	run_one local "local:$W/kek.bin"
	run_one local-per-file "local:$W/kek.bin" --wrap per-file-kms
	if [ -e /usr/lib/softhsm/libsofthsm2.so ] &&
	   eval "$(bash "$root/scripts/softhsm-peer.sh" init "$W/hsm" bench)"; then
		run_one pkcs11 "pkcs11:token=bench;object=kek?module-path=$P11_MODULE&pin-source=file:$P11_PIN_FILE"
		run_one pkcs11-per-file "pkcs11:token=bench;object=kek?module-path=$P11_MODULE&pin-source=file:$P11_PIN_FILE" --wrap per-file-kms
	fi
	if [ -x "$root/scripts/kmip-peer.sh" ] && [ -x /usr/bin/pykmip-server ]; then
		eval "$("$root/scripts/kmip-peer.sh" bench-uri "$W/kmip" 2>/dev/null)" || true
		[ -n "${KMIP_URI:-}" ] && run_one kmip "$KMIP_URI"
		[ -n "${KMIP_URI:-}" ] && run_one kmip-per-file "$KMIP_URI" --wrap per-file-kms
		# this block runs in the pipeline's subshell: cleanup never sees PEER_STOP
		[ -n "${PEER_STOP:-}" ] && eval "$PEER_STOP" || true
	fi
} | tee "${out:-/dev/null}"
