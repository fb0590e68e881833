#!/bin/sh
# serve --forward: every committed record goes out as OTLP logs. To a second `elog serve`
# (elog's own OTLP receiver): all records arrive, mapped back (component, level, message,
# fields), across a SIGTERM restart of the forwarding serve. To an independent receiver (grpc-js
# with the official OTLP .proto files, tests/js/otlp_receiver.js): retry after UNAVAILABLE,
# --forward-header sent, and a kill -9 of the forwarding serve mid-stream loses nothing (a
# record is sent twice only from the batch in flight). A collector that is down does not stop
# ingest; `elog ps` shows the lag and the error, then "caught up". Bad --forward options are
# usage errors.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 && [ -d "$ELOG_TOP/tests/js/node_modules/@grpc/grpc-js" ] || {
	skip_test "node or tests/js/node_modules/@grpc/grpc-js is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"; }

# receiver NAME [ARGS]: starts the JS receiver writing $T/NAME.jsonl; sets RECV (host:port), RPID
receiver() {
	rname=$1; shift
	rm -f "$T/$rname.port"
	node "$ELOG_TOP/tests/js/otlp_receiver.js" --proto-dir "$ELOG_TOP/proto" \
		--out "$T/$rname.jsonl" --ready "$T/$rname.port" "$@" 2>"$T/$rname.rerr" &
	RPID=$!
	BG_PIDS="$BG_PIDS $RPID"
	wait_for "receiver $rname" 30 test -s "$T/$rname.port" || fatal "receiver: $(cat "$T/$rname.rerr")"
	RECV=127.0.0.1:$(cat "$T/$rname.port")
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# count SERVER: records in that serve's history
count() { elog export --json --server "$1" 2>/dev/null | wc -l; }
# ps_json SERVER: the forwarder line of elog ps --json
ps_fwd() { elog ps --json --server "$1" | grep '"forward"'; }

say "forward to a second elog serve: every record arrives, mapped back"
start_serve b
B=$SERVER BPID=$SERVE_PID
start_serve a --forward "otlp://$B"
A=$SERVER APID=$SERVE_PID
{
	echo '{"level":"error","msg":"first","user":"ann","n":3,"tags":["x","y"],"trace_id":"0af7651916cd43dd8448eb211c80319c"}'
	i=1; while [ $i -le 1999 ]; do echo "line $i"; i=$((i + 1)); done
} | elog send --server "$A" -c web || fail "send to a"
wait_for "2000 records at b" 60 sh -c "[ \$(\"$ELOG_BIN\" export --json --server $B | wc -l) -ge 2000 ]"
elog export --json --server "$B" >"$T/b.json"
$PY - "$T/b.json" <<'PY' || fail "records at b: $(head -3 "$T/b.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2000, len(rows)
msgs = [r["msg"] for r in rows]
assert msgs == ["first"] + ["line %d" % i for i in range(1, 2000)], msgs[:3]
r = rows[0]
assert r["component"] == "web" and r["level"] == "error", r
f = r["fields"]
assert f["user"] == "ann" and f["n"] == 3 and f["tags"] == ["x", "y"], f
assert f["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and f["elog.source"] == "send", f
assert all(x["component"] == "web" and x["level"] == "info" for x in rows[1:])
PY

say "elog ps shows the forwarder caught up"
wait_for "caught up" 30 sh -c "\"$ELOG_BIN\" ps --json --server $A | grep -q '\"behind_records\":0,'"
out=$(elog ps --server "$A")
case $out in *"forward otlp://$B: caught up (2000 sent this run)"*) ;; *) fail "ps: $out" ;; esac

say "collector down: ingest goes on, ps shows the lag and the error; back: caught up, in order"
stop_serve "$BPID"
i=0; while [ $i -lt 500 ]; do echo "while down $i"; i=$((i + 1)); done |
	timeout 60 "$ELOG_BIN" send --server "$A" -c down || fail "send while the collector is down"
[ "$(count "$A")" = 2500 ] || fail "a has $(count "$A") records"
wait_for "ps shows the error" 30 sh -c "\"$ELOG_BIN\" ps --json --server $A | grep -q '\"last_error\":\"unavailable'"
ps_fwd "$A" | grep -q '"behind_records":500,' || fail "lag: $(ps_fwd "$A")"
out=$(elog ps --server "$A")
case $out in *"forward otlp://$B: 500 records, "*" s behind"*"last error: unavailable"*) ;;
	*) fail "ps while down: $out" ;; esac
"$ELOG_BIN" serve --listen "$B" --db "$T/b.db" 2>"$T/b2.err" &
BPID=$!; SERVE_PIDS="$SERVE_PIDS $BPID"
wait_for "the 500 at b" 60 sh -c "[ \$(\"$ELOG_BIN\" export --json --server $B | wc -l) -ge 2500 ]"
elog export --json --server "$B" -c down | grep -o 'while down [0-9]*' | sed 's/while down //' >"$T/down.txt"
seq 0 499 | test_cmp - "$T/down.txt"
wait_for "caught up again" 30 sh -c "\"$ELOG_BIN\" ps --json --server $A | grep -q '\"behind_records\":0,\"behind_seconds\":0.000,\"sent\":2500,.*\"last_error\":\"\"'"

say "a SIGTERM restart of the forwarding serve resumes from its cursor: nothing twice"
stop_serve "$APID"
start_serve a --forward "otlp://$B"
A=$SERVER APID=$SERVE_PID
echo "after restart" | elog send --server "$A" -c web || fail "send"
wait_for "2501 at b" 30 sh -c "[ \$(\"$ELOG_BIN\" export --json --server $B | wc -l) -ge 2501 ]"
[ "$(count "$B")" = 2501 ] || fail "b has $(count "$B"), expected 2501 (resent after a restart)"
stop_serve "$APID"
stop_serve "$BPID"

say "an independent receiver (grpc-js): UNAVAILABLE is retried, --forward-header is sent"
receiver r1 --unavailable 3 --require-header x-tenant=acme
start_serve c --forward "otlp://$RECV" --forward-header x-tenant=acme --forward-header X-Other=1
C=$SERVER CPID=$SERVE_PID
seq 1 300 | sed 's/^/rec /' | elog send --server "$C" -c ind || fail "send to c"
wait_for "300 at the receiver" 60 sh -c "[ \$(wc -l <$T/r1.jsonl 2>/dev/null || echo 0) -ge 300 ]"
$PY - "$T/r1.jsonl" <<'PY' || fail "receiver records: $(head -2 "$T/r1.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["body"] for r in rows] == ["rec %d" % i for i in range(1, 301)], [r["body"] for r in rows][:3]
r = rows[0]
assert r["resource"]["service.name"] == "ind" and r["severity_number"] == 9 and r["severity_text"] == "INFO", r
assert r["attributes"]["elog.source"] == "send" and int(r["time_unix_nano"]) > 0 and int(r["observed_time_unix_nano"]) > 0, r
PY
ps_fwd "$C" | grep -q '"failures":3,' || fail "failures not counted: $(ps_fwd "$C")"
stop_serve "$CPID"
kill "$RPID"

say "kill -9 of the forwarding serve mid-stream: after a restart every record arrives"
receiver r2 --delay-ms 400
start_serve d --forward "otlp://$RECV"
D=$SERVER DPID=$SERVE_PID
seq 1 8000 | sed 's/^/k /' | elog send --server "$D" -c kill || fail "send to d"
wait_for "the first batches at the receiver" 60 sh -c "[ \$(wc -l <$T/r2.jsonl 2>/dev/null || echo 0) -ge 1000 ]"
got=$(lines "$T/r2.jsonl")
[ "$got" -lt 8000 ] || fail "all 8000 forwarded before the kill: not mid-stream"
kill -9 "$DPID"; wait "$DPID" 2>/dev/null
start_serve d --forward "otlp://$RECV"
wait_for "8000 at the receiver" 90 sh -c "[ \$(sort -u $T/r2.jsonl | grep -c '\"body\":\"k ') -ge 8000 ]"
$PY - "$T/r2.jsonl" <<'PY' || fail "records after kill -9"
import json, sys
bodies = [json.loads(l)["body"] for l in open(sys.argv[1])]
uniq = set(bodies)
assert uniq == set("k %d" % i for i in range(1, 8001)), "missing: %d" % (8000 - len(uniq))
dups = len(bodies) - len(uniq)
assert dups <= 1000, "%d sent twice: more than the batch in flight" % dups
print("8000 arrived; %d sent twice (the batch in flight at the kill)" % dups)
PY
stop_serve

say "bad --forward options are usage errors"
must_fail 2 "http URL" elog serve --db "$T/x.db" --listen 127.0.0.1:0 --forward http://127.0.0.1:1 2>"$T/e1"
grep -q "is not otlp://HOST:PORT or otlps://HOST:PORT" "$T/e1" || fail "message: $(cat "$T/e1")"
must_fail 2 "--forward-ca without --forward" elog serve --db "$T/x.db" --listen 127.0.0.1:0 --forward-ca /dev/null 2>"$T/e2"
must_fail 2 "a header without =" elog serve --db "$T/x.db" --listen 127.0.0.1:0 --forward otlp://127.0.0.1:1 --forward-header nope 2>"$T/e3"
grep -q "is not KEY=VALUE" "$T/e3" || fail "message: $(cat "$T/e3")"
