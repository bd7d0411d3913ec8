#!/usr/bin/env bash
# make-images.sh: builds the reference volumes under tests/images/ ONCE, with
# the format version of the day. They are committed and never regenerated for
# a release: tests/sh/images.sh must keep reading them, so a change that
# breaks old volumes fails `make check`. An image whose .tar.gz exists is
# skipped, so a run adds only the new ones (FORMAT.md §9). Run as root.
# Usage: scripts/make-images.sh BUILDDIR   (writes tests/images/*.tar.gz)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: make-images.sh BUILDDIR}" && pwd)
PHIFS="$build/tools/phifs/phifs"
out="$src/tests/images"
work=$(mktemp -d /tmp/phifs-images.XXXXXX)
trap 'mountpoint -q "$work/mnt" && "$PHIFS" umount "$work/mnt"; rm -rf "$work"' EXIT
mkdir -p "$work/mnt" "$out"
export PHIFS_TEST_FAST_KDF=1
top_builddir=$build
. "$src/tests/sh/lib.sh"   # manifest()
PHIFS="$build/tools/phifs/phifs"
[ -f "$out/kek.bin" ] || head -c 32 /dev/urandom > "$out/kek.bin"
cp "$out/kek.bin" "$work/kek.bin"; chmod 600 "$work/kek.bin"
printf 'reference-volume-passphrase\n' > "$out/passphrase"

# The same tree in every volume: every kind of object the format stores.
populate() {
	local m=$1
	: > "$m/empty"
	printf x > "$m/one-byte"
	head -c 4097 /dev/zero | tr '\0' 'A' > "$m/block-and-one"
	seq 1 3000 > "$m/numbers.txt"
	truncate -s 300000 "$m/sparse"; printf 'end' | dd of="$m/sparse" bs=1 seek=299997 conv=notrunc status=none
	mkdir -p "$m/Clinical Notes/2026"
	printf 'Jane Doe, MRN 0042\n' > "$m/Clinical Notes/2026/visit.txt"
	ln -s "Clinical Notes/2026/visit.txt" "$m/link-to-visit"
	ln "$m/numbers.txt" "$m/hardlink-to-numbers"
	printf 'long\n' > "$m/$(printf 'L%.0s' $(seq 240))"
	setfattr -n user.patient -v "Jane Doe" "$m/one-byte"
}

# exists NAME: the image is there already (and is kept as it is).
exists() { [ -e "$out/$1.tar.gz" ] && echo "kept: $1 (exists)"; }

# make_one NAME CIPHER KMS-ARGS...: init with --cipher (and $INIT_ARGS), then
# mount/fsck with KMS-ARGS.
make_one() {
	local name=$1 cipher=$2; shift 2
	rm -rf "$work/c"
	"$PHIFS" init --cipher "$cipher" ${INIT_ARGS:-} "$@" "$work/c" >/dev/null
	"$PHIFS" mount "$@" "$work/c" "$work/mnt"
	populate "$work/mnt"
	manifest "$work/mnt" > "$out/$name.manifest"
	victim_ino=$(stat -c %i "$work/mnt/numbers.txt")
	"$PHIFS" umount "$work/mnt"
	sleep 1
	"$PHIFS" fsck "$@" "$work/c" >/dev/null
	tar -C "$work" --xattrs --sparse --numeric-owner -czf "$out/$name.tar.gz" c
}

if ! exists gcm-v1; then
make_one gcm-v1 gcm --kms "local:$work/kek.bin"
# Corrupt copies of gcm-v1: one flipped bit in block 1 of numbers.txt, and a
# config with its creation time edited (only the MAC can catch that).
victim=$(find "$work/c" -inum "$victim_ino" | head -1)   # hard-linked: any name
python3 - "$victim" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(176 + 4128 + 200); b = f.read(1); f.seek(176 + 4128 + 200); f.write(bytes([b[0] ^ 0x10]))
PY
tar -C "$work" --xattrs --sparse --numeric-owner -czf "$out/gcm-v1-badblock.tar.gz" c
tar -C "$work" -xzf "$out/gcm-v1.tar.gz"
python3 - "$work/c/phifs.conf" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(44); b = f.read(1); f.seek(44); f.write(bytes([b[0] ^ 0x01]))
PY
tar -C "$work" --xattrs --sparse --numeric-owner -czf "$out/gcm-v1-badconfig.tar.gz" c
fi
# (if, not ||: set -e does not reach into a function called left of ||)
if ! exists xts-v1; then make_one xts-v1 xts --kms "local:$work/kek.bin"; fi
if ! exists pass-v1; then make_one pass-v1 gcm --kms passphrase --passfile "$out/passphrase"; fi
# Per-file KMS mode (FORMAT.md §3.3, §4.4), added beside the v1 images above.
if ! exists filekms-v1; then
	INIT_ARGS="--wrap per-file-kms" make_one filekms-v1 gcm --kms "local:$work/kek.bin"
fi
echo "wrote: $(ls "$out")"
