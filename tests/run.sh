#!/bin/sh
# Runs the whole suite against the build directory $1 (default build/san): every unit test
# binary, then every shell test tests/t/t*.sh. Prints one line per test and, last, the totals
# of cases (each unit test case, each shell test `say` case) as "N passed, N failed". Exit 0
# only when nothing failed. The whole logs stay in $logdir (printed at the end).
O=${1:-build/san}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export ELOG_BIN="$top/$O/elog"
export ELOG_TOP="$top"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}"
passed=0 failed=0 failures=""
logdir=$(mktemp -d /tmp/elog-test-logs.XXXXXX)
for t in "$O"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" >"$logdir/$name.log" 2>&1; then
		p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$logdir/$name.log")
		passed=$((passed + ${p:-1})); echo "ok   unit/$name (${p:-?} cases)"
	else
		f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$logdir/$name.log")
		p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$logdir/$name.log")
		passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
		failures="$failures unit/$name"
		echo "FAIL unit/$name"; sed 's/^/    /' "$logdir/$name.log" | tail -40
	fi
done
for t in tests/t/t*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	start=$(date +%s)
	timeout 600 sh "$t" >"$logdir/$name.log" 2>&1; st=$?
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$logdir/$name.log" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$logdir/$name.log" | tail -1)
	[ "$st" = 124 ] && echo "    (timed out after 600 s)" >>"$logdir/$name.log"
	if [ "$st" = 0 ] && [ "${f:-0}" = 0 ]; then
		passed=$((passed + ${p:-1}))
		echo "ok   $name (${p:-?} cases, $(( $(date +%s) - start ))s)"
	else
		# a script that died before its report counts as one failed case
		[ "${f:-0}" = 0 ] && f=1
		passed=$((passed + ${p:-0})); failed=$((failed + f))
		failures="$failures $name"
		echo "FAIL $name ($f of $(( ${p:-0} + f )) cases failed)"
		grep '^not ok ' "$logdir/$name.log" | sed 's/^/    /'
		sed 's/^/    /' "$logdir/$name.log" | grep -v '^    ok [0-9]' | tail -60
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
