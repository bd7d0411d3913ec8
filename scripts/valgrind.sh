#!/usr/bin/env bash
# valgrind.sh: memcheck over every cmocka unit test and one short mount
# session (docs/TESTING.md "Valgrind"): no definite leak, no invalid read or
# write, no use of uninitialised memory. Prints TAP. Run by `make valgrind`
# after `make check` has built the tests (a build without sanitizers: ASan
# and valgrind do not mix).
# Usage: scripts/valgrind.sh [TEST...]   (default: every tests/unit/test-*)
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$src}
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind not installed (apt-get install valgrind)"; exit 0; }
if grep -q '^HARDEN_CFLAGS = .*-fsanitize' "$build/Makefile" 2>/dev/null; then
	echo "1..0 # SKIP a sanitizer build: configure without --enable-sanitizers"; exit 0
fi
work=$(mktemp -d /tmp/phifs-vg.XXXXXX)
chmod 755 "$work"
# The session's audit records stay in the scratch dir (as in tests/sh/lib.sh).
export PHIFS_AUDIT_DIR="$work/audit" PHIFS_AUDIT_KEYS_DIR="$work/audit-keys"
cleanup() {
	mountpoint -q "$work/mnt" 2>/dev/null && { umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt"; }
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null
	find "$work" -maxdepth 3 -name '*.log' -type f -exec chattr -a {} + 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
# libsodium's guarded pages and OpenSSL's CPU probes are fine; definite leaks fail.
VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --error-exitcode=99 --track-origins=yes --num-callers=30)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || for t in "$build"/tests/unit/test-*; do
	case $t in *.c|*.o|*.log|*.trs|*.h|*.am) continue ;; esac
	[ -x "$t" ] && tests+=("$t")
done
echo "1..$((${#tests[@]} + 1))"
n=0 fail=0
for t in "${tests[@]}"; do
	n=$((n + 1)); name=$(basename "$t")
	# test-crashfork: 40 kills exercise every path; its 400 are for the statistics.
	if (cd "$build" && CRASHFORK_KILLS=40 CMOCKA_MESSAGE_OUTPUT=TAP "${VG[@]}" --log-file="$work/$name.vg" "$t" > "$work/$name.out" 2>&1); then
		echo "ok $n - $name under memcheck"
	else
		echo "not ok $n - $name under memcheck (exit $?)"; fail=1
		grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|.*definitely lost|   at|   by)' "$work/$name.vg" | head -40 | sed 's/^/# /'
		grep '^not ok' "$work/$name.out" | head -5 | sed 's/^/# /'
	fi
done

# A short mount session: phifs mount -f under memcheck, a few file ops, unmount.
n=$((n + 1))
if [ ! -c /dev/fuse ] || [ "$(id -u)" -ne 0 ]; then
	echo "ok $n # SKIP mount session needs root and /dev/fuse"; exit $fail
fi
PHIFS="$build/tools/phifs/phifs"
mkdir -p "$work/mnt"
"$PHIFS" init --kms "local:$work/kek.bin" "$work/cipher" >/dev/null
"${VG[@]}" --log-file="$work/mount.vg" "$PHIFS" mount -f -o allow_other "$work/cipher" "$work/mnt" > "$work/mount.out" 2>&1 &
dpid=$!
for _ in $(seq 600); do mountpoint -q "$work/mnt" && break; kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
ops_ok=1
if mountpoint -q "$work/mnt"; then
	{
		head -c 300000 /dev/urandom > "$work/data" && cp "$work/data" "$work/mnt/f" && cmp "$work/data" "$work/mnt/f" &&
		mkdir -p "$work/mnt/d/e" && echo hi > "$work/mnt/d/e/g" && mv "$work/mnt/d/e/g" "$work/mnt/d/h" &&
		ln "$work/mnt/f" "$work/mnt/d/f-link" && ln -s target "$work/mnt/sym" && readlink "$work/mnt/sym" >/dev/null &&
		truncate -s 5000 "$work/mnt/f" && truncate -s 90000 "$work/mnt/f" && head -c 5000 "$work/data" | cmp - <(head -c 5000 "$work/mnt/f") &&
		setfattr -n user.k -v v "$work/mnt/f" && getfattr -n user.k "$work/mnt/f" >/dev/null &&
		ls -lR "$work/mnt" >/dev/null && rm -r "$work/mnt/d" "$work/mnt/sym" && long=$(printf 'L%.0s' $(seq 240)) &&
		echo x > "$work/mnt/$long" && rm "$work/mnt/$long"
	} > "$work/ops.out" 2>&1 || ops_ok=0
	"$PHIFS" umount "$work/mnt" || umount "$work/mnt"
else
	ops_ok=0
fi
wait $dpid; rc=$?; dpid=
if [ $ops_ok = 1 ] && [ $rc -eq 0 ]; then
	echo "ok $n - mount session (write, read, mkdir, rename, link, symlink, truncate, xattr, long name) under memcheck"
else
	echo "not ok $n - mount session under memcheck (ops $ops_ok, daemon exit $rc)"; fail=1
	sed 's/^/# /' "$work/ops.out" | head -10
	grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|.*definitely lost|   at|   by)' "$work/mount.vg" | head -60 | sed 's/^/# /'
	tail -5 "$work/mount.out" | sed 's/^/# /'
fi
exit $fail
