#!/usr/bin/env bash
# valgrind.sh: `make valgrind` as part of make check (docs/TESTING.md
# "Valgrind"): memcheck over every unit test and a short mount session; no
# definite leak, no invalid access. Skips itself in a sanitizer build.
exec bash "$top_srcdir/scripts/valgrind.sh"
