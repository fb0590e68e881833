#!/bin/sh
# A few seconds of each libFuzzer target (60 s with ELOG_TEST_LONG; make fuzz for longer).
. "$(dirname "$0")/lib.sh"
command -v clang >/dev/null || fail "clang is missing (make deps installs it)"
cd "$ELOG_TOP" || fail "no top"
make --no-print-directory fuzz-build >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "fuzz targets do not build"; }
secs=${ELOG_FUZZ_SECONDS:-4}; [ -n "${ELOG_TEST_LONG:-}" ] && secs=${ELOG_FUZZ_SECONDS:-60}
sh tools/fuzz.sh "$secs" build/fuzz/fuzz_* >"$T/fuzz.out" 2>&1
rc=$?
cat "$T/fuzz.out"
[ $rc -eq 0 ] || fail "a fuzz target failed"
