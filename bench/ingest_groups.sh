#!/bin/sh
# ingest_groups.sh — the streaming ingest services over server/ingest.c against a reference
# build, in the same invocation, runs alternating: relay StreamReceive from the C peer
# (build/relay_bench, N payloads, batch acks after commit) and one logging.v1 WriteLogStream of
# M frames over 16 sessions from a Python peer (the response comes after every frame is
# fsynced and committed). Prints a table: elog, reference, ratio (elog / reference).
#   REF=/path/to/older/elog sh bench/ingest_groups.sh      (ELOG defaults to ./elog)
# N (default 200000) payloads, M (default 20000) frames, R (default 2) runs of each. Loopback
# only; every loop is bounded.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/elog}
REF=${REF:?set REF to the reference elog binary}
N=${N:-200000}
M=${M:-20000}
R=${R:-2}
B=$(mktemp -d /tmp/elog-bench-groups.XXXXXX)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT

[ -x "$top/build/relay_bench" ] || { echo "build/relay_bench missing: make build/relay_bench" >&2; exit 2; }
mkdir -p "$B/stubs"
protoc -I "$top/proto" -I /usr/include --python_out="$B/stubs" --grpc_out="$B/stubs" \
	--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin "$top"/proto/logging.proto || exit 2

# (serve's output goes to a file: inherited by a $(...) it would keep it open forever)
start_serve() {   # BIN DIR: sets ADDR
	rm -f "$2/ready"
	"$1" serve --listen 127.0.0.1:0 --db "$2/h.db" --log-dir "$2/sessions" \
		--ready-file "$2/ready" -q >"$2/serve.out" 2>&1 &
	SERVE_PID=$!
	i=0; while [ ! -s "$2/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	ADDR=$(head -1 "$2/ready")
}
stop_serve() { kill $SERVE_PID; wait $SERVE_PID 2>/dev/null; SERVE_PID=; }

relay_rate() {   # BIN: payloads/s
	d=$(mktemp -d "$B/r.XXXX"); start_serve "$1" "$d"
	timeout 300 "$top/build/relay_bench" "$ADDR" "$N" | sed -n 's/.*: \([0-9]*\) payloads\/s.*/\1/p'
	stop_serve
}

logsvc_rate() {   # BIN: frames/s
	d=$(mktemp -d "$B/l.XXXX"); start_serve "$1" "$d"
	timeout 300 /usr/bin/python3 - "$ADDR" "$B/stubs" "$M" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
import grpc, logging_pb2 as pb, logging_pb2_grpc as pbg
addr, m = sys.argv[1], int(sys.argv[3])
frames = [pb.LogFrame(version=2, session_id="s%d" % (i % 16), user_id="u", role="user",
                      seq=i, content="frame %d of the benchmark" % i) for i in range(m)]
with grpc.insecure_channel(addr) as ch:
    t0 = time.monotonic()
    r = pbg.LogServiceStub(ch).WriteLogStream(iter(frames), timeout=600)
    dt = time.monotonic() - t0
assert r.frames_received == m, r
print(int(m / dt))
PY
	stop_serve
}

row() { printf '| %-56s | %10s | %10s | %6s |\n' "$1" "$2" "$3" "$4"; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo "| benchmark | elog | reference | ratio |"
echo "|---|---|---|---|"
run=1
while [ $run -le "$R" ]; do
	e=$(relay_rate "$ELOG"); f=$(relay_rate "$REF")
	row "relay StreamReceive, $N payloads, acked after commit (run $run)" "$e/s" "$f/s" "$(ratio "$e" "$f")"
	e=$(logsvc_rate "$ELOG"); f=$(logsvc_rate "$REF")
	row "logging.v1 WriteLogStream, $M frames, 16 sessions (run $run)" "$e/s" "$f/s" "$(ratio "$e" "$f")"
	run=$((run + 1))
done
