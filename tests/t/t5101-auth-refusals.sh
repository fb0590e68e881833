#!/bin/sh
# serve --auth refuses a call without a valid key before reading its request, so the refusal
# and the request cross on the wire. Whichever comes first, each client must end with the
# refusal (exit 1, the server's words) within seconds: many at once against one server
# (elog logs -n, export, send; no key and a wrong key; over 127.0.0.1 and [::1]), then the
# server still serves a valid key. Before the fix, a refusal that arrived before 'elog logs'
# sent its query made the client wait 30 s for a status it already had ("no status from the
# server within 30 s"), now and then on a busy machine.
. "$(dirname "$0")/lib.sh"
unset ELOG_TLS_CA ELOG_TLS_CERT ELOG_TLS_KEY ELOG_TLS_CLIENT_CA ELOG_TLS_SERVER_NAME ELOG_API_KEY_FILE

WORKERS=4          # clients running at once
ROUNDS=3           # rounds of three refused commands per worker
BUDGET_S=30        # no round starts after this many seconds
SLOW_MS=15000      # a refusal slower than this fails (a withheld status took 30 s)
CALL_LIMIT=25      # seconds before a client is killed

DB="$T/a.db"
elog keys create good --db "$DB" >"$T/good.key" 2>/dev/null || fail "create good"
GOOD=$(cat "$T/good.key")
start_serve a --auth --listen '[::1]:0'
SERVER6=$(sed -n 2p "$T/a.ready")

# refused ID WANT KEY TARGET CMD...: runs elog CMD with ELOG_API_KEY=KEY against TARGET; it
# must exit 1 with WANT in its error, within SLOW_MS.
refused() {
	id=$1; want=$2; key=$3; target=$4; shift 4
	t0=$(date +%s%N)
	ELOG_API_KEY=$key ELOG_SERVER=$target timeout "$CALL_LIMIT" "$ELOG_BIN" "$@" \
		</dev/null >/dev/null 2>"$T/err.$id"
	st=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$ms" >>"$T/times.$id"
	if [ "$st" != 1 ] || ! grep -q "$want" "$T/err.$id"; then
		fail "elog $* (key '$key', $target): exit $st after $ms ms: $(cat "$T/err.$id")"
	elif [ "$ms" -gt "$SLOW_MS" ]; then
		fail "elog $* (key '$key', $target): the refusal took $ms ms"
	fi
}

# worker W: ROUNDS rounds of logs -n, export and send, refused; odd workers over [::1], the
# last two with a wrong key.
worker() {
	w=$1; start=$2
	target=$SERVER; [ $((w % 2)) = 1 ] && target=$SERVER6
	key=; want="api key is not provided"
	[ "$w" -ge $((WORKERS / 2)) ] && { key=elog_wrong; want="invalid API key"; }
	r=0
	while [ $r -lt $ROUNDS ] && [ $(( $(date +%s) - start )) -lt $BUDGET_S ]; do
		r=$((r + 1))
		refused "$w.$r.logs" "$want" "$key" "$target" logs -n 5
		refused "$w.$r.export" "$want" "$key" "$target" export --json
		refused "$w.$r.send" "$want" "$key" "$target" send -c t "refused $w.$r"
	done
	echo "$r" >"$T/rounds.$w"
}

say "$WORKERS clients at once, each refused call ends with the refusal within $SLOW_MS ms"
start=$(date +%s)
pids=
w=0
while [ $w -lt $WORKERS ]; do
	worker $w "$start" &
	pids="$pids $!"
	BG_PIDS="$BG_PIDS $!"
	w=$((w + 1))
done
for p in $pids; do wait "$p"; done
calls=$(cat "$T"/times.* 2>/dev/null | wc -l)
[ "$calls" -ge $((WORKERS * 3)) ] || fail "only $calls refused calls ran"
slowest=$(cat "$T"/times.* 2>/dev/null | sort -n | tail -1)
echo "# $calls refused calls, slowest ${slowest:-?} ms"

say "the server still serves a valid key"
ELOG_API_KEY=$GOOD expect_success "send with a key" elog send -c t kept
ELOG_API_KEY=$GOOD elog logs -c t >"$T/logs" || fail "logs with a key"
printf 't | INFO  kept\n' >"$T/want"
test_cmp "$T/want" "$T/logs"
