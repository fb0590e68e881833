#!/bin/sh
# OTLP log ingest vs native ingest, on one fresh history each, same machine, same run:
#   native: `elog send` of N JSON lines (elog.v1.Hub/Ingest, batched and pipelined)
#   otlp:   a python3-grpcio peer (tests/py/otlp_peer.py bench) calling
#           LogsService/Export with BATCH records a call from CONC threads, the request bytes
#           made once (so the peer's own encoding cost is not counted), each call answered
#           after commit.
# Usage: bench/otlp.sh [ELOG]   (default ./elog; N, BATCH, CONC from the environment)
# Prints a table: records, seconds, records/s for each, and the OTLP/native ratio.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${1:-$top/elog}
N=${N:-200000}
BATCH=${BATCH:-512}
CONC=${CONC:-4}
B=$(mktemp -d /tmp/elog-bench-otlp.XXXXXX)
trap 'kill $SP 2>/dev/null; rm -rf "$B"' EXIT

serve() {
	rm -f "$B/ready"
	"$ELOG" serve -q --listen 127.0.0.1:0 --db "$B/$1.db" --ready-file "$B/ready" &
	SP=$!
	i=0
	while [ ! -s "$B/ready" ]; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "serve did not start" >&2; exit 1; }
		sleep 0.1
	done
	ADDR=$(head -1 "$B/ready")
}
stop() { kill "$SP"; wait "$SP" 2>/dev/null; }
now() { date +%s.%N; }

# native: N JSON lines through elog send
/usr/bin/python3 -c "
import sys
w = sys.stdout.write
for i in range($N):
    w('{\"level\":\"info\",\"msg\":\"bench line %d with some text to carry\",\"i\":%d}\n' % (i, i))
" >"$B/lines"
serve native
t0=$(now)
"$ELOG" send --server "$ADDR" -c bench <"$B/lines" || exit 1
t1=$(now)
stop
nat=$(echo "$t1 - $t0" | bc -l)

# otlp: the python peer
serve otlp
out=$(/usr/bin/python3 "$top/tests/py/otlp_peer.py" bench "$ADDR" "$B/gen" "$N" "$BATCH" "$CONC") ||
	{ echo "otlp peer failed: $out" >&2; exit 1; }
stored=$("$ELOG" export --json --db "$B/otlp.db" | wc -l)
stop
set -- $out
otn=$2 ots=$4

printf '| %-52s | %9s | %7s | %10s |\n' "path" "records" "seconds" "records/s"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------" "-----------" "---------" "------------"
printf '| %-52s | %9d | %7.2f | %10.0f |\n' "native: elog send (Hub/Ingest)" "$N" "$nat" "$(echo "$N / $nat" | bc -l)"
printf '| %-52s | %9d | %7.2f | %10.0f |\n' "OTLP LogsService/Export, python peer, $BATCH/call x $CONC" "$otn" "$ots" "$(echo "$otn / $ots" | bc -l)"
printf 'OTLP / native: %.2f; OTLP records stored: %d\n' "$(echo "($otn / $ots) / ($N / $nat)" | bc -l)" "$stored"
