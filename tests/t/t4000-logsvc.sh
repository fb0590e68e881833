#!/bin/sh
# logging.v1.LogService/WriteLogStream against a python3-grpcio peer (tests/py/logsvc_peer.py):
# per-session files and their JSON lines, seq assignment across calls and restarts, history
# records, size rotation with gzip and retention, age/idle rotation without compression,
# hostile session ids, and RESOURCE_EXHAUSTED when a session's queue is full.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t4000: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
send() { peer send "$SERVER" "$T/stubs" "$@"; }
D=$T/sessions   # the default: sessions/ beside the history $T/s.db

# files_are STEM "GZ LOG CUR": the session's rotated .gz, rotated .log and .logtmp counts.
files_are() { [ "$(peer files "$D" "$1")" = "$2" ]; }
# all_gz STEM: no rotated file of the session is waiting for compression.
all_gz() { [ "$(peer files "$D" "$1" | cut -d' ' -f2)" = 0 ]; }

# -- 1: two sessions interleaved on one stream and on separate streams, size rotation + gzip
start_serve s --log-max-size 400
say "interleaved sessions, with and without seq"
r=$(send t1 A B@100 A B@101 'A*3' 'B*2'); [ "$r" = "ACK 9 ACKNOWLEDGED" ] || fail "stream 1: $r"
r=$(send t2 'A*2'); [ "$r" = "ACK 2 ACKNOWLEDGED" ] || fail "stream 2: $r"
send t3 'C*40' >"$T/c.out" & p1=$!
send t4 'D*40' >"$T/d.out" & p2=$!
wait $p1; wait $p2
[ "$(cat "$T/c.out")" = "ACK 40 ACKNOWLEDGED" ] || fail "stream C: $(cat "$T/c.out")"
[ "$(cat "$T/d.out")" = "ACK 40 ACKNOWLEDGED" ] || fail "stream D: $(cat "$T/d.out")"
[ -f "$D/A.logtmp" ] && [ -f "$D/B.logtmp" ] || fail "no session files in $D: $(ls "$D")"

say "rotated files are compressed and hold every frame once, in order"
wait_for "compressed segments of C" 15 all_gz C
wait_for "compressed segments of A" 15 all_gz A
printf '1 t1-0\n2 t1-2\n3 t1-4\n4 t1-5\n5 t1-6\n6 t2-0\n7 t2-1\n' >"$T/A.want"
peer dump "$D" A >"$T/A.got" || fail "dump A"
test_cmp "$T/A.want" "$T/A.got"
printf '100 t1-1\n101 t1-3\n102 t1-7\n103 t1-8\n' >"$T/B.want"
peer dump "$D" B >"$T/B.got" || fail "dump B"
test_cmp "$T/B.want" "$T/B.got"
i=0; : >"$T/C.want"
while [ $i -lt 40 ]; do echo "$((i + 1)) t3-$i" >>"$T/C.want"; i=$((i + 1)); done
peer dump "$D" C >"$T/C.got" || fail "dump C"
test_cmp "$T/C.want" "$T/C.got"
gz=$(peer files "$D" C | cut -d' ' -f1)
[ "$gz" -ge 10 ] || fail "C: only $gz compressed segments with --log-max-size 400"
ls "$D" | grep -q '^C\.[0-9]\{8\}T[0-9]\{6\}\.[0-9]\{9\}Z\.1-2\.log\.gz$' ||
	fail "no segment named C.<time>.1-2.log.gz: $(ls "$D" | head)"

say "every frame is a history record"
elog export --json -c A >"$T/A.json" || fail "export"
[ "$(wc -l <"$T/A.json")" = 7 ] || fail "export -c A: $(wc -l <"$T/A.json") records"
grep -q '"msg":"t1-0","fields":{"user_id":"u-A","role":"user","seq":1,"version":2,"metadata":{' \
	"$T/A.json" || fail "record of t1-0: $(head -1 "$T/A.json")"
grep -q '"source":"logging.v1"' "$T/A.json" || fail "source of records"
[ "$(elog export --json -c D | wc -l)" = 40 ] || fail "export -c D"

say "hostile session ids"
peer hostile "$SERVER" "$T/stubs" "$D" || fail "hostile ids"
stop_serve

# -- 2: the counter survives a restart; retention keeps the newest 2 segments
start_serve s --log-max-size 400 --log-backup-count 2
say "seq continues after a restart; retention"
r=$(send t5 'A*6'); [ "$r" = "ACK 6 ACKNOWLEDGED" ] || fail "after restart: $r"
wait_for "retention of A" 15 files_are A "2 0 1"
peer dump "$D" A >"$T/A2.got" || fail "dump A"
[ "$(tail -1 "$T/A2.got")" = "13 t5-5" ] || fail "A after restart: $(cat "$T/A2.got")"
! ls "$D" | grep -q '^A\..*\.1-2\.log' || fail "retention kept A's oldest segment"
awk 'NR > 1 && $1 != prev + 1 { exit 1 } { prev = $1 }' "$T/A2.got" ||
	fail "A's kept lines are not consecutive"
stop_serve

# -- 3: age and idle rotation, no compression; flags win over the environment
export LOG_COMPRESSION=gzip LOG_MAX_AGE_SECONDS=3600
start_serve s --log-max-age 1 --log-idle 2 --log-compression none
unset LOG_COMPRESSION LOG_MAX_AGE_SECONDS
say "age rotation (1 s), uncompressed"
r=$(send t6 'E*2'); [ "$r" = "ACK 2 ACKNOWLEDGED" ] || fail "E: $r"
wait_for "age rotation of E" 10 files_are E "0 1 0"
stop_serve

# -- 4: overload: at most 5 frames not yet fsynced per session
start_serve s --log-queue 5 --log-flush-interval 60000
say "RESOURCE_EXHAUSTED when the queue is full"
r=$(send t7 'O*20')
case $r in
"ERR RESOURCE_EXHAUSTED session 'O' is overloaded"*) ;;
*) fail "overload: $r" ;;
esac
r=$(send t8 'O*3'); [ "$r" = "ACK 3 ACKNOWLEDGED" ] || fail "after overload: $r"
printf '1 t7-0\n2 t7-1\n3 t7-2\n4 t7-3\n5 t7-4\n6 t8-0\n7 t8-1\n8 t8-2\n' >"$T/O.want"
peer dump "$D" O >"$T/O.got" || fail "dump O"
test_cmp "$T/O.want" "$T/O.got"
say "counter recovered from rotated names alone"
r=$(send t9 E); [ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "E again: $r"
[ "$(peer dump "$D" E | tail -1)" = "3 t9-0" ] || fail "E after restart: $(peer dump "$D" E)"
stop_serve

# -- 5: SIGKILL while writing, rotating and compressing
start_serve s --log-max-size 2000
say "SIGKILL during writes"
send t10 'K*4000' >/dev/null 2>&1 &
# kill once K is being written, rotated and compressed
k_segments() { [ "$(ls "$D" | grep -c '^K\..*\.log\.gz$')" -ge 2 ]; }
wait_for "K's first compressed segments" 30 k_segments
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
start_serve s --log-max-size 2000
wait_for "compression of K's leftovers" 15 all_gz K
! ls "$D" | grep -q '\.tmp$' || fail "temporary files left: $(ls "$D" | grep '\.tmp$')"
peer dump "$D" K >"$T/K.got" || fail "K's files after SIGKILL"
awk '$1 != NR { exit 1 }' "$T/K.got" || fail "K's lines are not 1..N"
n=$(wc -l <"$T/K.got")
say "$n frames survived; writing continues"
r=$(send t11 'K*3'); [ "$r" = "ACK 3 ACKNOWLEDGED" ] || fail "K after SIGKILL: $r"
[ "$(peer dump "$D" K | tail -1)" = "$((n + 3)) t11-2" ] || fail "K's seq after SIGKILL"
stop_serve
must_fail 2 "bad compression" elog serve --db "$T/x.db" --log-compression zstd 2>/dev/null
echo "t4000: ok"
