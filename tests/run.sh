#!/bin/sh
# Runs the whole suite against the build directory $1 (default build/san): every unit test
# binary, then every shell test tests/t/t*.sh (ELOG_TEST_JOBS at a time). Prints one line per
# test and, last, the totals of cases (each unit test case, each shell test `say` case) as "N passed, N failed". Exit 0
# only when nothing failed. The whole logs stay in $logdir (printed at the end).
O=${1:-build/san}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export ELOG_BIN="$top/$O/elog"
export ELOG_TOP="$top"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}"
passed=0 failed=0 failures="" skipped=""
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
# Shell tests run ELOG_TEST_JOBS at a time (default 2: each test mostly waits on its servers,
# and every test passes on a busy machine); a test with a line "# test: serial" runs alone,
# after the others. Results are printed in name order once all have run.
jobs=${ELOG_TEST_JOBS:-2}
all=$(ls tests/t/t*.sh 2>/dev/null)
serial=$(grep -l '^# test: serial' $all 2>/dev/null)
parallel=$(for t in $all; do case " $(echo $serial) " in *" $t "*) ;; *) echo "$t" ;; esac; done)
echo "running $(echo "$all" | wc -w) shell tests, $jobs at a time ($(echo "$serial" | wc -w) alone)"
[ -n "$parallel" ] && printf '%s\n' $parallel | xargs -P "$jobs" -n 1 sh tests/run-one.sh "$logdir"
for t in $serial; do sh tests/run-one.sh "$logdir" "$t"; done
for t in $all; do
	name=$(basename "$t" .sh)
	read -r st secs <"$logdir/$name.res" 2>/dev/null || { st=1; secs=0; }
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$logdir/$name.log" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$logdir/$name.log" | tail -1)
	why=$(sed -n 's/^# SKIP //p' "$logdir/$name.log" | head -1)
	if [ "$st" = 0 ] && [ -n "$why" ]; then
		skipped="$skipped
    $name: $why"
		echo "SKIP $name ($why)"
	elif [ "$st" = 0 ] && [ "${f:-0}" = 0 ]; then
		passed=$((passed + ${p:-1}))
		echo "ok   $name (${p:-?} cases, ${secs}s)"
	else
		# a script that died before its report counts as one failed case
		[ "${f:-0}" = 0 ] && f=1
		passed=$((passed + ${p:-0})); failed=$((failed + f))
		failures="$failures $name"
		echo "FAIL $name ($f of $(( ${p:-0} + f )) cases failed, ${secs}s)"
		grep '^not ok ' "$logdir/$name.log" | sed 's/^/    /'
		sed 's/^/    /' "$logdir/$name.log" | grep -v '^    ok [0-9]' | tail -60
	fi
done
[ -n "$skipped" ] && echo "skipped, not run on this machine (see why):$skipped"
[ -n "$failures" ] && echo "failed:$failures"
echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
