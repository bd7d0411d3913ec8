#!/usr/bin/env bash
# quickstart.sh: README command one. On a fresh Debian 12 machine (as root):
# install dependencies, build, and run a demo on the embedded default key
# provider (a local key file; no external services): init, mount, write,
# show that the backing files are ciphertext with unreadable names, fsck,
# unmount. Leaves the build in place; the demo volume is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null
PHIFS=$PWD/tools/phifs/phifs

demo=$(mktemp -d /tmp/phifs-demo.XXXXXX)
cleanup() { mountpoint -q "$demo/mnt" && "$PHIFS" umount "$demo/mnt"; rm -rf "$demo"; }
trap cleanup EXIT
mkdir -p "$demo/mnt"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "phifs init: new volume, key file made mode 0600"
"$PHIFS" init --kms "local:$demo/kek.bin" "$demo/cipher"
ls -l "$demo/kek.bin"
say "phifs info"
"$PHIFS" info "$demo/cipher"
say "phifs mount (daemonizes)"
"$PHIFS" mount "$demo/cipher" "$demo/mnt"
mkdir "$demo/mnt/clinical"
printf 'Patient: Jane Doe, MRN 000042, dx: example\n' > "$demo/mnt/clinical/jane-doe-discharge.txt"
seq 1 100000 > "$demo/mnt/clinical/lab-results.csv"
say "what users see (plaintext)"
ls -lR "$demo/mnt"
cat "$demo/mnt/clinical/jane-doe-discharge.txt"
say "what is stored on disk (ciphertext, encrypted names)"
find "$demo/cipher" -printf '%M %8s %P\n'
if grep -rqa "Jane Doe" "$demo/cipher"; then echo "UNEXPECTED: plaintext found on disk"; exit 1; fi
echo "grep 'Jane Doe' in the cipher dir: no match"
say "phifs umount; phifs fsck"
"$PHIFS" umount "$demo/mnt"
sleep 0.5
"$PHIFS" fsck "$demo/cipher"
say "done: binaries are in tools/phifs/ (make install puts them in /usr/local)"
