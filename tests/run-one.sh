#!/bin/sh
# run-one.sh LOGDIR TEST: runs one shell test for run.sh with its time bound, and leaves
# LOGDIR/NAME.log (its output) and LOGDIR/NAME.res ("STATUS SECONDS") behind.
logdir=$1 t=$2
name=$(basename "$t" .sh)
start=$(date +%s)
timeout 600 sh "$t" >"$logdir/$name.log" 2>&1; st=$?
[ "$st" = 124 ] && echo "    (timed out after 600 s)" >>"$logdir/$name.log"
echo "$st $(( $(date +%s) - start ))" >"$logdir/$name.res"
