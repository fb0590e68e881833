#!/bin/sh
# Web follow at RATE records/s (default 5000) for SECS seconds (default 60): serve's CPU with a
# browser-like /api/follow socket and a LeadGen socket reading everything, next to the same
# ingest with no web client in the same invocation (the reference). Also: records each socket
# got, gap notices, and serve's peak RSS. Usage: bench/web_serve_cpu.sh [ELOG]   (bounded in time)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${1:-$top/elog}
RATE=${RATE:-5000}
SECS=${SECS:-60}
PY=/usr/bin/python3
B=$(mktemp -d /tmp/elog-webbench.XXXXXX)
SERVE_PID=
trap 'kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start() {
	rm -f "$B/ready"
	"$ELOG" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 --db "$B/$1.db" --ready-file "$B/ready" -q &
	SERVE_PID=$!
	i=0
	while [ ! -s "$B/ready" ] || [ "$(wc -l <"$B/ready")" -lt 2 ]; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "serve did not start" >&2; exit 1; }
		sleep 0.1
	done
	export ELOG_SERVER=$(sed -n 1p "$B/ready")
	WEB=$(sed -n 2p "$B/ready")
}

# paced lines on stdout: RATE a second for SECS seconds (sleeps on an absolute schedule)
pace() {
	$PY -c '
import sys, time
rate, secs = int(sys.argv[1]), int(sys.argv[2])
t0 = time.monotonic(); n = 0; out = sys.stdout
for s in range(secs * 10):
    want = rate * (s + 1) // 10
    while n < want:
        out.write("web bench record %d user=%d took %d ms\n" % (n, n % 97, n % 1000)); n += 1
    out.flush()
    d = t0 + (s + 1) / 10 - time.monotonic()
    if d > 0: time.sleep(d)' "$RATE" "$SECS"
}

run() {   # $1: name, $2: 1 with web clients
	start "$1"
	if [ "$2" = 1 ]; then
		$PY - "$WEB" "$((RATE * SECS))" >"$B/$1.clients" 2>&1 <<'EOF' &
import asyncio, json, sys, time, websockets
base, n = sys.argv[1].replace("http://", "ws://"), int(sys.argv[2])
async def follow():
    got = gaps = 0
    async with websockets.connect(base + "/api/follow", max_size=None, ping_interval=None) as ws:
        while got < n:
            m = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if m["type"] == "gap": gaps += 1
            else: got += len(m["records"])
    return got, gaps
async def leadgen():
    got = 0
    async with websockets.connect(base + "/", max_size=None, ping_interval=None) as ws:
        while got < n:
            json.loads(await asyncio.wait_for(ws.recv(), 60)); got += 1
    return got
async def main():
    (f, gaps), l = await asyncio.gather(follow(), leadgen())
    print("follow socket got %d records (%d gap notices), LeadGen socket %d entries" % (f, gaps, l))
asyncio.run(main())
EOF
		CL=$!
		sleep 1
	fi
	c0=$(cpu_ticks "$SERVE_PID")
	t0=$(date +%s.%N)
	pace | "$ELOG" send -c bench
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$SERVE_PID")
	# the clients may still be reading (a python client is slower than serve): wait for them
	[ "$2" = 1 ] && wait $CL
	t2=$(date +%s.%N)
	c2=$(cpu_ticks "$SERVE_PID")
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVE_PID/status")
	kill $SERVE_PID; wait $SERVE_PID 2>/dev/null
	echo "$(echo "($c1 - $c0) / $hz" | bc -l) $(echo "$t1 - $t0" | bc -l) $rss $(echo "($c2 - $c0) / $hz" | bc -l) $(echo "$t2 - $t0" | bc -l)"
}

echo "web follow at $RATE records/s for $SECS s (serve CPU seconds, wall seconds, peak RSS KiB)"
ref=$(run ref 0)
web=$(run web 1)
set -- $ref; rc=$1; rw=$2; rr=$3
set -- $web; wc_=$1; ww=$2; wr=$3; wc2=$4; ww2=$5
printf '| %-46s | %s |\n' "ingest only (reference): serve CPU" \
	"$(printf '%.1f s in %.1f s of sending = %.0f%% of a core, peak RSS %s KiB' "$rc" "$rw" "$(echo "100 * $rc / $rw" | bc -l)" "$rr")"
printf '| %-46s | %s |\n' "with a follow socket and a LeadGen socket" \
	"$(printf '%.1f s in %.1f s of sending = %.0f%% of a core, peak RSS %s KiB; %.1f s in %.1f s until both clients had everything' "$wc_" "$ww" "$(echo "100 * $wc_ / $ww" | bc -l)" "$wr" "$wc2" "$ww2")"
printf '| %-46s | %s |\n' "web clients" "$(cat "$B/web.clients")"
