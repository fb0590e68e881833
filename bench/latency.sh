#!/bin/sh
# Follow latency: `elog send` <- latency -> `elog logs -f`, at RATE lines/s for SECONDS.
# Usage: latency.sh ELOG DIR (serve must be running, ELOG_SERVER set). Prints one table row.
ELOG=$1; B=$2
RATE=${RATE:-10000}; SECONDS_=${LAT_SECONDS:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
cc -O2 -o "$B/latency" "$top/bench/latency.c" -lpthread || exit 1
mkfifo "$B/to_send" "$B/from_logs"
"$ELOG" logs -f -c latency --no-prefix --color=never > "$B/from_logs" &
LP=$!
"$ELOG" send -c latency < "$B/to_send" &
SP=$!
res=$("$B/latency" "$RATE" "$SECONDS_" 3>"$B/to_send" 4<"$B/from_logs")
kill $LP 2>/dev/null; wait $SP 2>/dev/null
printf '| %-44s | %s |\n' "follow latency, $RATE lines/s for ${SECONDS_}s" "$res"
