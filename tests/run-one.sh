#!/bin/sh
# run-one.sh LOGDIR TEST: runs one shell test for run.sh with its time bound, and leaves
# LOGDIR/NAME.log (its output) and LOGDIR/NAME.res ("STATUS SECONDS") behind.
# The bound is 600 s, or $ELOG_TEST_TIMEOUT seconds (make test-long sets it).
logdir=$1 t=$2
name=$(basename "$t" .sh)
start=$(date +%s)
bound=${ELOG_TEST_TIMEOUT:-600}
timeout "$bound" sh "$t" >"$logdir/$name.log" 2>&1; st=$?
[ "$st" = 124 ] && echo "    (timed out after $bound s)" >>"$logdir/$name.log"
echo "$st $(( $(date +%s) - start ))" >"$logdir/$name.res"
