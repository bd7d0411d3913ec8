#!/usr/bin/env bash
# install-deps.sh: every Debian 12 package phifs needs to build, test and
# benchmark. Idempotent and non-interactive; a no-op when all are present.
set -euo pipefail
pkgs=(build-essential autoconf automake libtool pkg-config clang libclang-rt-14-dev
      libfuse3-dev fuse3 libssl-dev libsodium-dev libkeyutils-dev keyutils
      libcmocka-dev libjson-c-dev attr openssl xxd
      python3-pykmip softhsm2 opensc libp11-kit-dev
      libcurl4-openssl-dev libzstd-dev
      valgrind e2fsprogs
      systemd)   # systemd.pc (the unit dir) and systemd-analyze (tests/sh/install.sh); inert without systemd as init
# --bench: also the reference systems bench/ compares with (not needed by CI)
[ "${1:-}" = --bench ] && pkgs+=(restic borgbackup)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# s3rver (the S3 test peer) runs on Node.js: Debian's nodejs + npm unless a
# Node.js with its own npm (e.g. NodeSource's, which conflicts with Debian's npm) is there.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# s3rver 3.7.1 itself: npm, into the project's git-ignored .peers/ (tests/sh/s3.sh
# would do it on first use; without a registry those tests skip).
"$(dirname "$0")/s3-peer.sh" install || echo "install-deps: s3rver not installed" >&2
