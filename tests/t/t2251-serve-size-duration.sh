#!/bin/sh
# Sizes and durations of serve's options (issue #15 item 7): the option table has SIZE and
# DURATION types, so --log-max-size 64M, --log-max-age 7d, --log-idle 30s,
# --log-flush-interval 200ms, --heartbeat-ttl 1m are taken; a bad value, on the command line
# or in the option's environment variable, is a usage error (exit 2) naming the flag and the
# value, given before any file is made. The bare numbers of before keep their units
# (--log-max-age seconds, --log-flush-interval milliseconds). --help and the man page say so.
# Each serve that must fail runs under `timeout 60`: one that wrongly starts ends as a failure.
. "$(dirname "$0")/lib.sh"

bad() {   # bad FLAG VALUE WHAT: serve FLAG VALUE is a usage error naming both
	must_fail 2 "$1 $2" timeout 60 "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/bad/h.db" \
		"$1" "$2" 2>"$T/bad.err"
	grep -qF "elog serve: invalid value '$2' for $1: $3" "$T/bad.err" ||
		fail "$1 $2: $(cat "$T/bad.err")"
	[ ! -e "$T/bad" ] || fail "$1 $2: serve made $T/bad"
}

say "bad sizes: usage errors naming flag and value, nothing made"
bad --log-max-size 64Q "not a size"
bad --log-max-size -1 "not a size"
bad --log-max-size 1.5G "not a size"
bad --log-max-size 9999999999999T "not a size"
bad --log-max-size "" "not a size"

say "bad durations: usage errors naming flag and value, nothing made"
bad --log-max-age 7x "not a duration"
bad --log-idle 5parsecs "not a duration"
bad --log-flush-interval 1hh "not a duration"
bad --heartbeat-ttl -1s "not a duration"
bad --heartbeat-ttl 99999999999999999999s "not a duration"
bad --log-max-age "" "not a duration"

say "counts: --log-queue, --log-backup-count, --notify-redis-queue take numbers only"
bad --log-queue 5x "not a number"
bad --log-backup-count -2 "not a number"
bad --notify-redis-queue lots "not a number"

say "a bad --log-compression is refused before any file is made too"
must_fail 2 "--log-compression zip" timeout 60 "$ELOG_BIN" serve --listen 127.0.0.1:0 \
	--db "$T/bad/h.db" --log-compression zip 2>"$T/bad.err"
grep -qF "invalid --log-compression 'zip'" "$T/bad.err" || fail "message: $(cat "$T/bad.err")"
[ ! -e "$T/bad" ] || fail "serve made $T/bad"

say "a bad value in the option's environment variable names it too"
LOG_MAX_SIZE_BYTES=12Z must_fail 2 "LOG_MAX_SIZE_BYTES=12Z" timeout 60 "$ELOG_BIN" serve \
	--listen 127.0.0.1:0 --db "$T/bad/h.db" 2>"$T/env.err"
grep -qF "invalid value '12Z' for --log-max-size (from \$LOG_MAX_SIZE_BYTES): not a size" \
	"$T/env.err" || fail "message: $(cat "$T/env.err")"
LOG_IDLE_SECONDS=soon must_fail 2 "LOG_IDLE_SECONDS=soon" timeout 60 "$ELOG_BIN" serve \
	--listen 127.0.0.1:0 --db "$T/bad/h.db" 2>"$T/env.err"
grep -qF "invalid value 'soon' for --log-idle (from \$LOG_IDLE_SECONDS): not a duration" \
	"$T/env.err" || fail "message: $(cat "$T/env.err")"
[ ! -e "$T/bad" ] || fail "serve made $T/bad"

say "the flag wins over its environment variable (a bad one is then not read)"
LOG_MAX_SIZE_BYTES=12Z start_serve flagwins --log-max-size 1M
stop_serve

say "sizes and durations with units are taken, and so are the bare numbers of before"
start_serve units --log-max-size 64M --log-max-age 7d --log-idle 30s \
	--log-flush-interval 200ms --heartbeat-ttl 1m --log-backup-count 3 --log-queue 100
echo hello | elog send -c units || fail "send"
stop_serve
LOG_MAX_SIZE_BYTES=400 LOG_MAX_AGE_SECONDS=3600 LOG_IDLE_SECONDS=300 \
	LOG_FLUSH_INTERVAL_MS=200 LOG_QUEUE_FRAMES=10 start_serve bare \
	--log-max-size 4096 --heartbeat-ttl 30 --log-flush-interval 60000
stop_serve

say "a size takes effect: --log-max-size 1K rotates a session file past 1 KiB"
if $PY -c 'import grpc' 2>/dev/null && command -v protoc >/dev/null &&
   [ -x /usr/bin/grpc_python_plugin ]; then
	py_stubs "$T/stubs" || fail "generating python stubs"
	start_serve rot --log-max-size 1K --log-flush-interval 50ms --log-compression none
	# 60 frames of ~150 bytes each: ~9 KiB, so several 1 KiB segments
	r=$($PY "$ELOG_TOP/tests/py/logsvc_peer.py" send "$SERVER" "$T/stubs" 		sizetest-with-a-long-enough-tag 'R*60')
	[ "$r" = "ACK 60 ACKNOWLEDGED" ] || fail "stream: $r"
	set -- $($PY "$ELOG_TOP/tests/py/logsvc_peer.py" files "$T/sessions" R)
	[ "$(($1 + $2))" -ge 3 ] || fail "only $1 + $2 rotated files of R with --log-max-size 1K"
	stop_serve
else
	echo "# skipped: needs python3-grpcio, protoc and grpc_python_plugin"
fi

say "--help and the man page show the types"
elog serve --help >"$T/help"
grep -q -- "--log-max-size SIZE" "$T/help" || fail "help: $(grep log-max-size "$T/help")"
grep -q -- "--log-max-age DURATION" "$T/help" || fail "help: $(grep log-max-age "$T/help")"
grep -q -- "--heartbeat-ttl DURATION" "$T/help" || fail "help: $(grep heartbeat "$T/help")"
grep -q 'A size is bytes, or a number with K, M, G or T' "$ELOG_TOP/man/elog-serve.1" ||
	fail "man page says nothing of sizes"
grep -q 'a bare number is milliseconds' "$ELOG_TOP/man/elog-serve.1" ||
	fail "man page says nothing of --log-flush-interval's bare number"
echo "t2251: ok"
