#!/usr/bin/env bash
# fuzz.sh (test): every parser's libFuzzer harness, briefly (FUZZ_SECONDS, default 10).
# `make fuzz` runs them longer.
exec bash "${top_srcdir:-$(dirname "$0")/../..}/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}"
