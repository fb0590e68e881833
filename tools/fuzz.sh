#!/bin/sh
# fuzz.sh SECONDS TARGET...: runs each libFuzzer target for SECONDS on tests/fuzz/corpus/NAME
# (with FUZZ_RUNS=N instead: N inputs from a fixed seed, the same every run, for make test)
# (plus build/fuzz/corpus-NAME for what it finds), prints executions per target, and fails
# when a target crashes, leaks, or runs out of memory (the input is kept in build/fuzz/).
secs=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$@"; do
	n=$(basename "$t" | sed 's/^fuzz_//')
	mkdir -p "$top/build/fuzz/corpus-$n"
	log="$top/build/fuzz/$n.log"
	if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS -seed=1"; else limit="-max_total_time=$secs"; fi
	"$t" $limit -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$top/build/fuzz/$n-" \
		"$top/build/fuzz/corpus-$n" "$top/tests/fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -ne 0 ]; then
		echo "fuzz $n: FAILED after ${runs:-?} runs"; grep -E 'ERROR|SUMMARY' "$log" | head -5
		# enough to tell the cause where the artifact does not outlive the run (a chroot):
		# the stack and the input (its first 512 bytes)
		grep -E '^ *#[0-9]+ ' "$log" | head -25
		a=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | head -1)
		[ -n "$a" ] && [ -f "$a" ] && { echo "input ($a):"; od -A d -c "$a" | head -32; }
		status=1
	else
		echo "fuzz $n: ${runs:-?} executions, no failure"
	fi
done
exit $status
