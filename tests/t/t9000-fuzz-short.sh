#!/bin/sh
# A few seconds of each libFuzzer target (make fuzz runs them longer).
. "$(dirname "$0")/lib.sh"
command -v clang >/dev/null || fail "clang is missing (make deps installs it)"
cd "$ELOG_TOP" || fail "no top"
make --no-print-directory fuzz-build >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "fuzz targets do not build"; }
sh tools/fuzz.sh "${ELOG_FUZZ_SECONDS:-4}" build/fuzz/fuzz_* 2>&1 | grep -v '\.log$' || fail "a fuzz target failed"
