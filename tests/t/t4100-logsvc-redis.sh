#!/bin/sh
# Rotation events: serve announces every finished, compressed session log segment on a Redis
# list (a real redis-server on a loopback port); with Redis stopped, WriteLogStream is not
# slowed, announcements beyond the queue are dropped and counted, serve reports the failure;
# after Redis is back, later segments are announced again.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t4100: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
say "bad URLs are usage errors"
must_fail 2 "http URL" elog serve --listen 127.0.0.1:0 --db "$T/u.db" --notify-redis http://x \
	2>/dev/null
must_fail 2 "bad port" elog serve --listen 127.0.0.1:0 --db "$T/u.db" \
	--notify-redis redis://127.0.0.1:99999 2>/dev/null
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "t4100: skipped: needs redis-server and redis-cli (Debian redis-server)"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
send() { peer send "$SERVER" "$T/stubs" "$@"; }
D=$T/sessions
all_gz() { [ "$(peer files "$D" "$1" | cut -d' ' -f2)" = 0 ]; }

P=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RPID=
redis_start() {
	redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--dir "$T" >"$T/redis.out" 2>&1 &
	RPID=$!
	SERVE_PIDS="$SERVE_PIDS $RPID"
	wait_for "redis-server on $P" 10 sh -c "[ \"\$(redis-cli -p $P ping)\" = PONG ]"
}
redis_stop() {
	kill -TERM "$RPID"; wait "$RPID" 2>/dev/null
	! redis-cli -p "$P" ping >/dev/null 2>&1 || fail "redis still answers"
}
rcli() { redis-cli -p "$P" -n 3 "$@"; }
llen_is() { [ "$(rcli LLEN segs)" = "$1" ]; }
ngz() { ls "$D" | grep -c '\.log\.gz$'; }

# check_msgs FILE: every line is one announcement of an existing .gz of session A with the
# right fields; prints the file names announced.
check_msgs() {
	$PY - "$1" "$D" <<'EOF'
import json, os, re, sys, datetime
rot = re.compile(r"^A\.\d{8}T\d{6}\.\d{9}Z\.(\d+)-(\d+)\.log\.gz$")
names = []
for line in open(sys.argv[1]):
    m = json.loads(line)
    want = {"session", "path", "first_seq", "last_seq", "bytes", "raw_bytes", "compression", "time"}
    assert set(m) == want, m
    assert m["session"] == "A", m
    assert m["compression"] == "gzip", m
    d, name = os.path.split(m["path"])
    assert os.path.samefile(d, sys.argv[2]), m
    r = rot.match(name)
    assert r, m
    assert (int(r.group(1)), int(r.group(2))) == (m["first_seq"], m["last_seq"]), m
    assert m["bytes"] == os.path.getsize(m["path"]), m
    assert 0 < m["raw_bytes"] <= 400, m
    t = datetime.datetime.strptime(m["time"][:19], "%Y-%m-%dT%H:%M:%S")
    assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 120, m
    names.append(name)
assert len(names) == len(set(names)), "announced twice"
print("\n".join(names))
EOF
}

# -- 1: Redis up: one message per .gz (URL from the environment, db 3, list from the env)
redis_start
export REDIS_URL="redis://127.0.0.1:$P/3" LOG_REDIS_LIST=segs
start_serve s --log-max-size 400 --notify-redis-queue 4
unset REDIS_URL LOG_REDIS_LIST
say "every compressed segment is announced"
# The queue holds 4 announcements: a burst of segments faster than a busy machine runs the
# notifier would drop some by design (case 2 tests that), so this case sends a few at a time
# and waits for their announcements.
for i in 1 2 3 4 5; do
	r=$(send "t1-$i" 'A*4'); [ "$r" = "ACK 4 ACKNOWLEDGED" ] || fail "stream 1-$i: $r"
	wait_for "compressed segments" 15 all_gz A
	n1=$(ngz)
	wait_for "$n1 announcements" 15 llen_is "$n1"
done
[ "$n1" -ge 5 ] || fail "only $n1 segments with --log-max-size 400"
rcli LRANGE segs 0 -1 >"$T/m1" || fail "LRANGE"
check_msgs "$T/m1" | sort >"$T/n1" || fail "announcements: $(cat "$T/m1")"
ls "$D" | grep '\.log\.gz$' | sort >"$T/gz1"
test_cmp "$T/gz1" "$T/n1"
[ "$(redis-cli -p "$P" -n 0 LLEN segs)" = 0 ] || fail "pushed to db 0, not 3"

# -- 2: Redis down: streaming is not slowed, failures reported, overflow dropped
say "Redis stopped: logging goes on"
redis_stop
t0=$(date +%s%N)
r=$(send t2 'A*20'); [ "$r" = "ACK 20 ACKNOWLEDGED" ] || fail "stream 2: $r"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "20 frames in $ms ms with Redis down"
[ "$ms" -lt 3000 ] || fail "WriteLogStream took $ms ms with Redis down"
wait_for "compressed segments" 15 all_gz A
n2=$(ngz); [ "$n2" -ge $((n1 + 5)) ] || fail "only $((n2 - n1)) new segments"
wait_for "the failure on serve's stderr" 10 \
	grep -q "^elog serve: redis 'redis://127.0.0.1:$P/3' unreachable: .*; [0-9]* notifications\? dropped$" \
	"$T/s.err"
[ "$(grep -c "unreachable" "$T/s.err")" = 1 ] || fail "reported more than once a minute: $(cat "$T/s.err")"

# -- 3: Redis back: later segments are announced again (the 4 held ones too)
say "Redis restarted: announcements resume"
redis_start
# the 4 held announcements arrive once the notifier has reconnected; segments made before
# that would find the queue full and be dropped, as in the case above
wait_for "the 4 held announcements" 20 llen_is 4
# then a few segments at a time, as in case 1: one send of 10 frames made 5 segments within
# a millisecond, and on a busy machine the notifier had not taken the first off the 4-place
# queue when the fifth came (dropped by design; the fresh-check saw it)
for i in 1 2 3; do
	r=$(send "t3-$i" 'A*4'); [ "$r" = "ACK 4 ACKNOWLEDGED" ] || fail "stream 3-$i: $r"
	wait_for "compressed segments" 15 all_gz A
	n3=$(ngz)
	wait_for "$((4 + n3 - n2)) announcements after the restart" 15 llen_is $((4 + n3 - n2))
done
want=$((4 + n3 - n2))
rcli LRANGE segs 0 -1 >"$T/m3" || fail "LRANGE"
check_msgs "$T/m3" >"$T/n3" || fail "announcements: $(cat "$T/m3")"
ls "$D" | grep '\.log\.gz$' | sort | tail -$((n3 - n2)) >"$T/gz3"
tail -$((n3 - n2)) "$T/n3" | sort >"$T/n3new"
test_cmp "$T/gz3" "$T/n3new"
stop_serve
llen_is "$want" || fail "more than $want announcements: $(rcli LLEN segs)"
sent=$((n1 + want)); dropped=$((n2 - n1 - 4))
grep -q "^elog serve: redis notifications: $sent sent, $dropped dropped, [1-9][0-9]* failed attempts$" \
	"$T/s.err" || fail "shutdown counters (want $sent sent, $dropped dropped): $(cat "$T/s.err")"
redis_stop

# -- 4: AUTH from the URL; a wrong password is reported with the password masked
say "redis://:password@host:port"
redis_start_pw() {
	redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--requirepass 's3cret' --dir "$T" >"$T/redis.out" 2>&1 &
	RPID=$!
	SERVE_PIDS="$SERVE_PIDS $RPID"
	wait_for "redis-server on $P" 10 sh -c "[ \"\$(redis-cli -p $P ping 2>&1)\" = \"NOAUTH Authentication required.\" ]"
}
redis_start_pw
start_serve s2 --log-dir "$D" --log-max-size 400 --notify-redis "redis://:s3cret@127.0.0.1:$P/3" \
	--notify-redis-list segs2
r=$(send t4 'A*6'); [ "$r" = "ACK 6 ACKNOWLEDGED" ] || fail "stream 4: $r"
wait_for "compressed segments" 15 all_gz A
n4=$(ngz)
wait_for "$((n4 - n3)) announcements with AUTH" 10 \
	sh -c "[ \"\$(redis-cli -a s3cret --no-auth-warning -p $P -n 3 LLEN segs2)\" = $((n4 - n3)) ]"
stop_serve
start_serve s3 --log-dir "$D" --log-max-size 400 --notify-redis "redis://:wrong@127.0.0.1:$P/3"
r=$(send t5 'A*4'); [ "$r" = "ACK 4 ACKNOWLEDGED" ] || fail "stream 5: $r"
wait_for "the AUTH failure on serve's stderr" 10 \
	grep -q "^elog serve: redis 'redis://:\*\*\*@127.0.0.1:$P/3' unreachable: AUTH: " "$T/s3.err"
! grep -q wrong "$T/s3.err" || fail "the password shows on stderr: $(cat "$T/s3.err")"
stop_serve
redis_stop
exit 0
