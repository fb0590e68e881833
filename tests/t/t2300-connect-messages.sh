#!/bin/sh
# t2300-connect-messages: a hub that is not there is reported at once (connection refused, with
# a hint), --timeout 0 does not hang, --server takes PORT, :PORT and host:port, and send says
# how many lines it cut at 1 MiB.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A loopback port nothing listens on: bound by python, then closed.
FREE=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

say "connection refused: exit 3 well under the 5 s timeout, with a hint"
t0=$(now_ms)
must_fail 3 "logs against a closed port" elog logs --server "127.0.0.1:$FREE" >"$T/out" 2>"$T/err"
dt=$(($(now_ms) - t0))
echo "# connection refused took ${dt} ms"
[ "$dt" -lt 3000 ] || fail "connection refused took $dt ms (the old path waited out 5 s)"
grep -q "cannot reach server '127.0.0.1:$FREE': connection refused" "$T/err" ||
	fail "no 'connection refused': $(cat "$T/err")"
grep -q "is 'elog serve' running?" "$T/err" || fail "no serve hint: $(cat "$T/err")"
grep -q -- "--db" "$T/err" || fail "no --db hint: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" = 1 ] || fail "more than one line: $(cat "$T/err")"

say "connection refused: ps fails just as fast"
t0=$(now_ms)
must_fail 3 "ps against a closed port" elog ps --server "127.0.0.1:$FREE" >"$T/out" 2>"$T/err"
dt=$(($(now_ms) - t0))
[ "$dt" -lt 3000 ] || fail "ps took $dt ms"
grep -q "connection refused" "$T/err" || fail "ps: $(cat "$T/err")"

say "--timeout 0 against a closed port does not hang"
t0=$(now_ms)
must_fail 3 "--timeout 0" elog logs --timeout 0 --server "127.0.0.1:$FREE" >"$T/out" 2>"$T/err"
dt=$(($(now_ms) - t0))
[ "$dt" -lt 3000 ] || fail "--timeout 0 took $dt ms"
grep -q "connection refused" "$T/err" || fail "--timeout 0: $(cat "$T/err")"

start_serve hub
PORT=${SERVER##*:}
unset ELOG_SERVER

say "--timeout 0 against a running hub reads"
elog send --server "$SERVER" --timeout 0 -c zero "with timeout zero" 2>"$T/err" ||
	fail "send --timeout 0: $(cat "$T/err")"
elog logs --server "$SERVER" --timeout 0 -c zero >"$T/out" 2>"$T/err" ||
	fail "logs --timeout 0: $(cat "$T/err")"
grep -q "with timeout zero" "$T/out" || fail "logs --timeout 0 did not read: $(cat "$T/out")"

say "--server PORT, :PORT and host:port name the same hub"
for form in "$PORT" ":$PORT" "127.0.0.1:$PORT"; do
	elog send --server "$form" -c forms "via $form" 2>"$T/err" ||
		fail "send --server $form: $(cat "$T/err")"
done
for form in "$PORT" ":$PORT" "127.0.0.1:$PORT"; do
	elog logs --server "$form" -c forms >"$T/out" 2>"$T/err" ||
		fail "logs --server $form: $(cat "$T/err")"
	for f2 in "$PORT" ":$PORT" "127.0.0.1:$PORT"; do
		grep -q "via $f2\$" "$T/out" || fail "logs --server $form lacks 'via $f2'"
	done
done
ELOG_SERVER=":$PORT" elog logs -c forms >"$T/out" 2>"$T/err" || fail "\$ELOG_SERVER=:PORT: $(cat "$T/err")"
grep -q "via :$PORT" "$T/out" || fail "\$ELOG_SERVER=:PORT did not read"

say "send warns once how many lines it cut at 1 MiB, exit status unchanged"
$PY -c '
import sys
w = sys.stdout.write
w("short one\n"); w("a" * (1536 * 1024) + "\n"); w("between\n"); w("b" * (3 << 20) + "\n"); w("last\n")
' >"$T/long.txt"
elog send --server "$SERVER" -c cut <"$T/long.txt" 2>"$T/err"; st=$?
[ "$st" = 0 ] || fail "send exited $st: $(cat "$T/err")"
grep -qx "elog: 2 lines longer than 1 MiB were cut" "$T/err" || fail "no cut warning: $(cat "$T/err")"
[ "$(grep -c 'longer than 1 MiB' "$T/err")" = 1 ] || fail "warned more than once: $(cat "$T/err")"
elog logs --server "$SERVER" -c cut -o json >"$T/out" 2>"$T/err" || fail "logs -c cut: $(cat "$T/err")"
[ "$(wc -l <"$T/out")" = 5 ] || fail "expected 5 records, got $(wc -l <"$T/out")"

say "send of short lines says nothing about cutting"
printf 'one\ntwo\n' | elog send --server "$SERVER" -c nocut 2>"$T/err" || fail "send: $(cat "$T/err")"
grep -q "longer than" "$T/err" && fail "spurious cut warning: $(cat "$T/err")"

say "one line over 1 MiB: singular"
$PY -c 'import sys; sys.stdout.write("c" * (1100 * 1024) + "\n")' |
	elog send --server "$SERVER" -c cut1 2>"$T/err" || fail "send: $(cat "$T/err")"
grep -qx "elog: 1 line longer than 1 MiB was cut" "$T/err" || fail "singular: $(cat "$T/err")"

stop_serve
