#!/bin/sh
# A few seconds of each libFuzzer target (60 s with ELOG_TEST_LONG; make fuzz for longer).
. "$(dirname "$0")/lib.sh"
command -v clang >/dev/null || fail "clang is missing (make deps installs it)"
cd "$ELOG_TOP" || fail "no top"
make --no-print-directory fuzz-build >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "fuzz targets do not build"; }
# The default run is a fixed number of inputs from a fixed seed (the same in every CI run);
# test-long fuzzes for 60 s a target with fresh randomness.
if [ -n "${ELOG_TEST_LONG:-}" ]; then
	sh tools/fuzz.sh "${ELOG_FUZZ_SECONDS:-60}" build/fuzz/fuzz_* >"$T/fuzz.out" 2>&1
else
	FUZZ_RUNS=${ELOG_FUZZ_RUNS:-20000} sh tools/fuzz.sh 0 build/fuzz/fuzz_* >"$T/fuzz.out" 2>&1
fi
rc=$?
cat "$T/fuzz.out"
[ $rc -eq 0 ] || fail "a fuzz target failed"
