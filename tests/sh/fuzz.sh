#!/usr/bin/env bash
# fuzz.sh (test): every parser's libFuzzer harness, briefly (FUZZ_SECONDS, default 10).
# `make fuzz` runs them longer.
# PHIFS_FUZZ_SKIP=REASON skips (.ci/run: the sanitizer build, fuzzed already).
if [ -n "${PHIFS_FUZZ_SKIP:-}" ]; then echo "1..0 # SKIP $PHIFS_FUZZ_SKIP"; exit 0; fi
exec bash "${top_srcdir:-$(dirname "$0")/../..}/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}"
