#!/usr/bin/env bash
# fuzz.sh: build every libFuzzer harness in tests/fuzz/ with clang (ASan+UBSan)
# and run each for a bounded time on a scratch copy of its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (default 30 s each, all)
# Prints TAP, so `make check` can run it briefly (tests/sh/fuzz.sh).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$src}
secs=${1:-30}; shift || true
work=$(mktemp -d /tmp/phifs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
libsrc="fs/fdio.c fs/cipher.c fs/secmem.c fs/secpool.c fs/format.c fs/keytab_format.c fs/keys.c fs/b64.c fs/names.c fs/block.c fs/hook.c fs/log.c fs/journal.c fs/journal_hole.c fs/hdrlock.c fs/policy.c fs/audit_chain.c fs/audit_spool.c fs/audit_verify.c fs/chglog_rec.c $(cd "$src" && echo kms-client/*.c) tools/phifs-backup/s3_xml.c"
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || for f in "$src"/tests/fuzz/fuzz-*.c; do harnesses+=("$(basename "$f" .c)"); done
command -v clang >/dev/null || { echo "1..0 # SKIP clang not installed"; exit 0; }
p11_cflags=$(pkg-config --cflags p11-kit-1)   # pkcs11.h for kms-client/p11_*.c
echo "1..${#harnesses[@]}"
n=0 fail=0
for h in "${harnesses[@]}"; do
	n=$((n + 1)); name=${h#fuzz-}
	objs=()
	# harnesses of code outside the libraries bring their own sources
	case $h in
	fuzz-backupobj) extra="tools/phifs-backup/repo_obj.c tools/phifs-backup/repo_index.c tools/phifs-backup/repo_util.c" ;;
	fuzz-journal) extra="fs/journal_replay.c fs/chglog.c fs/chglog_tick.c fs/fileio.c fs/fileio_read.c fs/fileio_write.c fs/fileio_verify.c fs/fileio_rekey.c fs/readahead.c fs/redo.c fs/writebehind.c" ;;
	fuzz-filekms) extra="fs/filekms.c fs/filekms_cache.c fs/filekms_pool.c" ;;
	fuzz-backuptree) extra="tools/phifs-backup/repo_ptree.c tools/phifs-backup/repo_patch.c tools/phifs-backup/repo_json.c tools/phifs-backup/repo_obj.c tools/phifs-backup/repo_index.c tools/phifs-backup/repo_util.c" ;;
	*) extra="" ;;
	esac
	for s in $libsrc $extra; do objs+=("$src/$s"); done
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I"$build" -I"$src/fs" \
		-I"$src/kms-client" -I"$src/tools/phifs-backup" $p11_cflags "$src/tests/fuzz/$h.c" "${objs[@]}" -lssl -lcrypto -lsodium -lkeyutils -lzstd -ldl -lpthread \
		$(pkg-config --libs json-c) -o "$work/$h" 2>"$work/$h.build"; then
		echo "not ok $n - $h builds"; sed 's/^/# /' "$work/$h.build" | head -20; fail=1; continue
	fi
	mkdir -p "$work/corpus-$name"
	[ -d "$src/tests/fuzz/corpus/$name" ] && cp -r "$src/tests/fuzz/corpus/$name/." "$work/corpus-$name/"
	if "$work/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
		"$work/corpus-$name" >"$work/$h.log" 2>&1; then
		echo "ok $n - $h ran ${secs}s without a finding ($(grep -o 'cov: [0-9]*' "$work/$h.log" | tail -1))"
	else
		echo "not ok $n - $h found a crash"; tail -30 "$work/$h.log" | sed 's/^/# /'
		ls "$work"/crash-* "$work"/leak-* 2>/dev/null | sed 's/^/# artifact: /'; fail=1
	fi
done
exit $fail
