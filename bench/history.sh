#!/bin/bash
# bench/history.sh — every bar of issue #17 in one run, each next to its reference in the same
# run, as one table (`make bench-history`; `make bench` runs it first):
#  1. ingest of N lines (`elog send` -> serve -> committed) into an empty history, next to
#     rsyslogd (Debian's rsyslog, its own config: imptcp on a loopback port -> omfile, a flat
#     file, no index, no end-to-end ack) timed until the file holds every line.
#  2. `export --json` and `logs --color=always` (through serve) of those N records, next to
#     sqlite3 reading the same records from a plain table (-json, and its default mode); the
#     fastest of XREPS alternating rounds of each.
#  3. that history grown to BIG records (the next BIG-N lines sent to a serve on a copy of it);
#     bytes per record on disk at BIG records (database + WAL after serve stopped).
#  4. at BIG records, read straight from the file (`logs --db`): `--grep` of a literal in one
#     record ('request R '), of a word in one record ("quokka") and of a word in about a fifth
#     of them, each next to `grep -c` over the same BIG lines as a flat file; `-c C -n 100` and
#     a 1-second `--since/--until` window (the median of several runs, whole process).
#  5. ingest of N more lines into the BIG-record history (a serve restarted on it), next to the
#     same lines into an empty history just before.
#  6. follow latency on that serve at LAT_RATE lines/s for LAT_SECONDS: one follower at once
#     after step 5's burst (shown, no bar: serve is still sealing the burst), then, once serve
#     is idle (its CPU under 10% of a core for half a second; at most 180 s), one follower and
#     LAT_FOLLOWERS followers (the bars: a steady stream). bench/latency.c starts the
#     followers and `elog send`.
#  7. ingest of N lines with a retention bound of a third of what they take (run just before
#     step 5's empty ingest, which is its reference), and the largest history seen during it
#     against the bound (allowed slack: 25%).
# The data (bench/hgen.c): ~127-byte JSON lines, 4 components, 4 levels, one record a
# millisecond, generated once into the temp dir and used for elog, rsyslog and grep alike.
# Environment: ELOG (default build/elog, a release build), ELOG_BENCH_N (default 1M),
# ELOG_BENCH_BIG (default 10M; k and M suffixes), ELOG_BENCH_QREPS (runs of each timed query,
# median taken; default 7), ELOG_BENCH_GREPS (runs of each grep; default 3), ELOG_BENCH_QBUDGET
# (seconds: no further run of a query once its runs took that long; default 10),
# ELOG_BENCH_XREPS (rounds of export and color, the fastest kept; default 3), ELOG_BENCH_BASE
# (an elog binary of the code before a change: its export and color ratios, measured in the
# same rounds, become those two bars), LAT_RATE (10000),
# LAT_SECONDS (default 20), LAT_FOLLOWERS (default 50), ELOG_BENCH_SKIP (words: rsyslog
# latency retention), ELOG_BENCH_<BAR> to change a bar (see `bar` below), TMPDIR.
# Loopback only; every wait is bounded; the temp dir is removed at exit.
set -u
START=$EPOCHREALTIME
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/build/elog}
[ -x "$ELOG" ] || ELOG=$top/elog
count() {   # 10M -> 10000000
	case $1 in
	*[kK]) echo $(( ${1%?} * 1000 )) ;;
	*[mM]) echo $(( ${1%?} * 1000000 )) ;;
	*) echo $(( $1 )) ;;
	esac
}
N=$(count "${ELOG_BENCH_N:-1M}")
BIG=$(count "${ELOG_BENCH_BIG:-10M}")
QREPS=${ELOG_BENCH_QREPS:-7}
GREPS=${ELOG_BENCH_GREPS:-3}
XREPS=${ELOG_BENCH_XREPS:-3}
QBUDGET=${ELOG_BENCH_QBUDGET:-10}
LAT_RATE=${LAT_RATE:-10000}
LAT_SECONDS=${LAT_SECONDS:-20}
LAT_FOLLOWERS=${LAT_FOLLOWERS:-50}
SKIP=" ${ELOG_BENCH_SKIP:-} "
RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
[ "$BIG" -ge "$N" ] || { echo "ELOG_BENCH_BIG ($BIG) must be at least ELOG_BENCH_N ($N)" >&2; exit 2; }
[ -x "$ELOG" ] || { echo "no elog binary at '$ELOG' (make -j2 first)" >&2; exit 2; }

B=$(mktemp -d "${TMPDIR:-/tmp}/elog-hbench.XXXXXX")
SERVE_PID= RS_PID= BASE_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
	[ -n "$BASE_PID" ] && kill "$BASE_PID" 2>/dev/null
	[ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ------------------------------------------------------------------------------
calc() { awk "BEGIN { printf \"$1\", $2 }"; }            # calc FORMAT EXPR
since() { calc %.6f "$EPOCHREALTIME - $1"; }            # seconds since a stamp
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
say() { echo "# $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
PHASE_T=$START
phase() {   # phase NAME: how long the step just finished took, on stderr
	say "$1: $(calc %.1f "$(since "$PHASE_T")") s (load $(load))"
	PHASE_T=$EPOCHREALTIME
}
NBARS=0 NPASS=0
row() { printf "| %-66s | %14s | %14s | %-22s |\n" "$1" "$2" "$3" "$4"; }
# bar NAME DEFAULT: the bar's value, ELOG_BENCH_NAME overrides it
bar() { local v="ELOG_BENCH_$1"; echo "${!v:-$2}"; }
# verdict VALUE OP BAR: sets V to PASS or FAIL and counts it (call it outside $(...))
verdict() {
	NBARS=$((NBARS + 1))
	if awk "BEGIN { exit !(($1) $2 ($3)) }"; then NPASS=$((NPASS + 1)); V=PASS; else V=FAIL; fi
}
# bar_ratio MEASURE ELOG REF RATIO BAR: a row whose ratio must be >= BAR
bar_ratio() {
	verdict "$4" '>=' "$5"
	row "$1" "$2" "$3" "$(calc %.2fx "$4") (>= ${5}x) $V"
}

start_serve() {   # start_serve DB [ARGS...]: serve on a loopback port, ELOG_SERVER set
	local db=$1 i=0
	shift
	rm -f "$B/ready"
	"$ELOG" serve --listen 127.0.0.1:0 --http none --db "$db" --ready-file "$B/ready" -q "$@" \
		2>>"$B/serve.err" &
	SERVE_PID=$!
	while [ ! -s "$B/ready" ] && [ $i -lt 1200 ]; do   # 120 s: opening a big history
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	if [ ! -s "$B/ready" ]; then
		echo "serve did not start on '$db': $(tail -3 "$B/serve.err")" >&2
		exit 1
	fi
	ELOG_SERVER=$(head -1 "$B/ready"); export ELOG_SERVER
}
stop_serve() {    # SIGTERM, then at most 300 s for it to finish (SIGKILL after that, said)
	local i=0
	kill -TERM "$SERVE_PID" 2>/dev/null
	while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		say "WARNING: serve did not stop within 300 s; killed"
		kill -KILL "$SERVE_PID"
	fi
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}
disk_bytes() {    # the history on disk: the database and its WAL
	local n=0 f
	for f in "$1" "$1-wal"; do [ -f "$f" ] && n=$((n + $(stat -c %s "$f"))); done
	echo $n
}
records() {       # the history's record count, from `elog ps --disk --db` ("?" if it has none)
	"$ELOG" ps --disk --db "$1" 2>/dev/null | awk '/^records:/ { print $2; exit }' | tr -d , |
		grep . || echo "?"
}
send_timed() {    # send_timed VAR FILE: seconds for `elog send` of FILE into serve
	local t0=$EPOCHREALTIME
	"$ELOG" send <"$2" || say "WARNING: send failed"
	printf -v "$1" %s "$(since "$t0")"
}
# qtime REPS OUT CMD...: the median of REPS runs of CMD (stdout to OUT), in seconds; runs stop
# early once they have taken QBUDGET seconds in all (a slow query is run once or twice)
qtime() {
	local reps=$1 out=$2 i t0 t1=$EPOCHREALTIME
	shift 2
	for ((i = 0; i < reps; i++)); do
		t0=$EPOCHREALTIME
		"$@" >"$out"
		since "$t0"; echo
		awk "BEGIN { exit !($EPOCHREALTIME - $t1 > $QBUDGET) }" && break
	done | median
}

# ---- data ---------------------------------------------------------------------------------
say "elog: $ELOG; N=$N BIG=$BIG; temp dir $B; load $(load)"
LOAD0=$(load)
cc -O2 -o "$B/hgen" "$top/bench/hgen.c" || exit 1
cc -O2 -o "$B/latency" "$top/bench/latency.c" -lpthread || exit 1
NEEDLE=$((BIG * 7 / 10 + 3))               # the one record with "quokka"
LIT="request $((BIG / 2 + 7)) "            # a literal in one record
t0=$EPOCHREALTIME
"$B/hgen" 0 "$BIG" "" "$NEEDLE" >"$B/big.jsonl" &
g1=$!
"$B/hgen" 0 "$N" "$B/ref.tsv" "$NEEDLE" >"$B/first.jsonl" &
g2=$!
"$B/hgen" "$BIG" "$N" >"$B/extra.jsonl" &
g3=$!
wait $g1 && wait $g2 && wait $g3 || { echo "generating the data failed" >&2; exit 1; }
LINE_BYTES=$(calc %.1f "$(stat -c %s "$B/big.jsonl") / $BIG")
phase "generated $BIG + $N lines ($LINE_BYTES bytes a line)"
sqlite3 "$B/ref.db" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
CREATE TABLE records(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, component TEXT NOT NULL,
  level INTEGER NOT NULL, msg TEXT NOT NULL, fields TEXT NOT NULL, source TEXT NOT NULL);
.mode tabs
.import $B/ref.tsv records
SQL
rm -f "$B/ref.tsv"
phase "sqlite3 reference table of $N records"

echo
echo "issue 17, history engine: N=$N, BIG=$BIG, $LINE_BYTES-byte JSON lines; $(date -u '+%F %H:%M UTC'); load $(load)"
echo
row "measure" "elog" "reference" "ratio (bar) verdict"
echo "|---|---|---|---|"

# ---- 1. ingest into an empty history vs rsyslog imptcp -> omfile ---------------------------
start_serve "$B/h1.db" --retain-size 0
send_timed e_ingest "$B/first.jsonl"
e_rate=$(calc %.0f "$N / $e_ingest")

# ---- 2. export --json and logs --color=always through serve, N records, next to sqlite3 -----
# reading the same records from a plain table (what run.sh compared against); each pair run
# alternately XREPS times and the fastest of each kept (a shared machine's load comes in bursts)
minof() { if [ -z "$1" ]; then echo "$2"; else calc %.6f "($1 < $2) ? $1 : $2"; fi; }
# ELOG_BENCH_BASE=<an elog binary of the code before a change>: its own serve and history of the
# same lines, measured in the same rounds; the bars are then its ratios ("at least today's")
BASE=${ELOG_BENCH_BASE:-}
if [ -n "$BASE" ]; then
	rm -f "$B/bready"
	"$BASE" serve --listen 127.0.0.1:0 --http none --db "$B/base.db" --ready-file "$B/bready" -q \
		--retain-size 0 2>>"$B/serve.err" &
	BASE_PID=$!
	i=0; while [ ! -s "$B/bready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	BASE_SERVER=$(head -1 "$B/bready" 2>/dev/null)
	[ -n "$BASE_SERVER" ] || { echo "the base serve ('$BASE') did not start" >&2; exit 1; }
	ELOG_SERVER=$BASE_SERVER "$BASE" send <"$B/first.jsonl" || say "WARNING: base send failed"
fi
e_export= r_export= e_color= r_color= b_export= b_color=
for ((x = 0; x < XREPS; x++)); do
	t0=$EPOCHREALTIME; "$ELOG" export --json >"$B/export.jsonl"; e_export=$(minof "$e_export" "$(since "$t0")")
	got=$(wc -l <"$B/export.jsonl")
	[ "$got" = "$N" ] || say "WARNING: export --json gave $got records, expected $N"
	rm -f "$B/export.jsonl"
	if [ -n "$BASE" ]; then
		t0=$EPOCHREALTIME; ELOG_SERVER=$BASE_SERVER "$BASE" export --json >/dev/null
		b_export=$(minof "$b_export" "$(since "$t0")")
	fi
	t0=$EPOCHREALTIME
	sqlite3 -json "$B/ref.db" 'select id, ts, component, level, msg, fields, source from records order by id' >"$B/ref.json"
	r_export=$(minof "$r_export" "$(since "$t0")")
	rm -f "$B/ref.json"
	t0=$EPOCHREALTIME; "$ELOG" logs --color=always | cat >/dev/null; e_color=$(minof "$e_color" "$(since "$t0")")
	if [ -n "$BASE" ]; then
		t0=$EPOCHREALTIME; ELOG_SERVER=$BASE_SERVER "$BASE" logs --color=always | cat >/dev/null
		b_color=$(minof "$b_color" "$(since "$t0")")
	fi
	t0=$EPOCHREALTIME
	sqlite3 "$B/ref.db" 'select id, ts, component, level, msg, fields from records order by id' | cat >/dev/null
	r_color=$(minof "$r_color" "$(since "$t0")")
done
if [ -n "$BASE" ]; then
	kill "$BASE_PID"; wait "$BASE_PID" 2>/dev/null; BASE_PID=
	rm -f "$B/base.db"*
fi
rm -f "$B/ref.db" "$B/ref.db-wal"
stop_serve
phase "$N lines into an empty history, export and color"
h1_bytes=$(disk_bytes "$B/h1.db")

if [[ $SKIP != *" rsyslog "* ]] && [ -x "$RSYSLOGD" ]; then
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$B/rs"
	cat >"$B/rsyslog.conf" <<EOF
global(workDirectory="$B/rs" maxMessageSize="64k")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$B/flat.log" template="raw") }
input(type="imptcp" address="127.0.0.1" port="$PORT" ruleset="bench")
EOF
	"$RSYSLOGD" -n -f "$B/rsyslog.conf" -i "$B/rs/pid" 2>"$B/rs/err" &
	RS_PID=$!
	i=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge 300 ] && { say "rsyslogd did not start: $(cat "$B/rs/err")"; break; }
		sleep 0.1
	done
	t0=$EPOCHREALTIME
	python3 "$top/bench/tcp_send.py" "$PORT" "$B/first.jsonl"
	# rsyslog acknowledges nothing: done when the file holds every line (polled, 300 s at most)
	i=0
	while [ "$(wc -l <"$B/flat.log" 2>/dev/null || echo 0)" -lt "$N" ] && [ $i -lt 30000 ]; do
		sleep 0.01; i=$((i + 1))
	done
	r_ingest=$(since "$t0")
	kill "$RS_PID"; wait "$RS_PID" 2>/dev/null; RS_PID=
	got=$(wc -l <"$B/flat.log" 2>/dev/null || echo 0)
	[ "$got" = "$N" ] || say "WARNING: rsyslog wrote $got of $N lines"
	rm -f "$B/flat.log"
	bar_ratio "ingest $N lines, empty history (lines/s) / rsyslogd" "$e_rate" \
		"$(calc %.0f "$N / $r_ingest")" "$r_ingest / $e_ingest" "$(bar INGEST 1.0)"
	phase "rsyslog"
else
	row "ingest $N lines, empty history (lines/s)" "$e_rate" "(no rsyslog)" "-"
fi

# the bars: today's ratios (the base binary's in this run, else the defaults, measured with this
# script on 2026-12-03: see bench/RESULTS.md)
xbar=$(bar EXPORT 1.5) cbar=$(bar COLOR 0.6)
if [ -n "$BASE" ]; then
	xbar=$(calc %.2f "$r_export / $b_export") cbar=$(calc %.2f "$r_color / $b_color")
	row "  base $(basename "$BASE"): export --json / sqlite3 -json (s)" "$(calc %.2f "$b_export")" \
		"$(calc %.2f "$r_export")" "${xbar}x (the bar below)"
	row "  base $(basename "$BASE"): logs --color=always / sqlite3 (s)" "$(calc %.2f "$b_color")" \
		"$(calc %.2f "$r_color")" "${cbar}x (the bar below)"
fi
bar_ratio "export --json, $N records, best of $XREPS (s) / sqlite3 -json" "$(calc %.2f "$e_export")" \
	"$(calc %.2f "$r_export")" "$r_export / $e_export" "$xbar"
bar_ratio "logs --color=always, $N records to a pipe, best of $XREPS (s) / sqlite3" \
	"$(calc %.2f "$e_color")" "$(calc %.2f "$r_color")" "$r_color / $e_color" "$cbar"


# ---- 3. grow to BIG records; bytes per record at BIG -----------------------------------------
for f in "$B/h1.db" "$B/h1.db-wal"; do   # serve stopped cleanly: no -shm, no lock held
	[ -f "$f" ] && cp "$f" "$B/h10${f#"$B/h1"}"
done
if [ "$BIG" -gt "$N" ]; then
	start_serve "$B/h10.db" --retain-size 0
	send_timed e_grow <(tail -n +$((N + 1)) "$B/big.jsonl")
	# A store with sealed blocks (schema 6) seals behind a burst: the size and the queries
	# below are of the history once its sealer caught up, as it is a little after any burst.
	# How long that took is printed; a store without blocks has nothing to wait for.
	if sqlite3 "$B/h10.db" "SELECT 1 FROM blocks LIMIT 0" 2>/dev/null; then
		t0=$EPOCHREALTIME i=0
		hot() { sqlite3 "$B/h10.db" "SELECT count(*) FROM records" 2>/dev/null || echo 0; }
		while [ "$(hot)" -gt 16384 ] && [ $i -lt 600 ]; do sleep 0.5; i=$((i + 1)); done
		say "the sealer caught up $(calc %.1f "$(since "$t0")") s after the ingest ended ($(hot) records left in the hot table)"
		# then the writer gives the free pages back (a MiB a pass) down to its slack (8 MiB or
		# an eighth of the file): wait for the free-page count to come down to that
		t0=$EPOCHREALTIME i=0
		trimmed() {
			set -- $(sqlite3 "$B/h10.db" "PRAGMA freelist_count; PRAGMA page_count;" 2>/dev/null)
			[ $# = 2 ] && { [ "$1" -le $((2048 + 256)) ] || [ "$1" -le $(($2 / 8 + 256)) ]; }
		}
		while ! trimmed && [ $i -lt 480 ]; do sleep 0.5; i=$((i + 1)); done
		say "free pages given back in $(calc %.1f "$(since "$t0")") s (file $(stat -c %s "$B/h10.db") bytes)"
	fi
	t0=$EPOCHREALTIME
	stop_serve
	say "lines $((N + 1))..$BIG sent at $(calc %.0f "($BIG - $N) / $e_grow") lines/s; serve took $(calc %.1f "$(since "$t0")") s to stop"
fi
stored=$(records "$B/h10.db")
[ "$stored" = "$BIG" ] || say "WARNING: the history holds $stored records, expected $BIG"
phase "grown to $BIG records"
hb=$(disk_bytes "$B/h10.db")
bpr=$(calc %.1f "$hb / $BIG")
verdict "$bpr" '<=' "$(bar BYTES 30)"
row "history on disk at $BIG records, bytes/record (flat file)" "$bpr" "$LINE_BYTES" \
	"<= $(bar BYTES 30) $V"
say "history: $hb bytes at $BIG records; at $N records it took $h1_bytes ($(calc %.1f "$h1_bytes / $N") bytes/record)"

# ---- 4. queries at BIG records, straight from the file -----------------------------------------
greprow() {   # greprow LABEL PATTERN BAR|-
	local e r c1 c2 ratio
	e=$(qtime "$GREPS" "$B/out" "$ELOG" logs --db "$B/h10.db" --grep "$2" -o cat)
	c1=$(wc -l <"$B/out")
	r=$(qtime "$GREPS" "$B/gout" grep -c -- "$2" "$B/big.jsonl")
	c2=$(cat "$B/gout")
	[ "$c1" = "$c2" ] || say "WARNING: logs --grep '$2' found $c1 records, grep -c $c2"
	ratio=$(calc %.6f "$r / $e")
	if [ "$3" = - ]; then
		row "$1 ($c1 found) (s) / grep -c" "$(calc %.3f "$e")" "$(calc %.3f "$r")" \
			"$(calc %.2fx "$ratio") (no bar)"
	else
		bar_ratio "$1 ($c1 found) (s) / grep -c" "$(calc %.3f "$e")" "$(calc %.3f "$r")" \
			"$ratio" "$3"
	fi
}
greprow "logs --grep '$LIT', $BIG records" "$LIT" "$(bar GREP_LITERAL 1.0)"
greprow "logs --grep quokka (a word in 1 record)" quokka "$(bar GREP_WORD 10)"
greprow "logs --grep upstream (a word in ~1/5)" upstream -
ms=$(calc %.1f "1000 * $(qtime "$QREPS" "$B/out" "$ELOG" logs --db "$B/h10.db" -c worker -n 100 -o cat)")
got=$(wc -l <"$B/out")
[ "$got" = 100 ] || say "WARNING: logs -c worker -n 100 printed $got records"
verdict "$ms" '<=' "$(bar QUERY_MS 50)"
row "logs -c worker -n 100 at $BIG, median of $QREPS (ms)" "$ms" "-" "<= $(bar QUERY_MS 50) ms $V"
# a second in the middle of the history: one record a millisecond, 1000 records
mid=$((1769472000 + BIG / 2000))
w0=$(date -u -d "@$mid" +%Y-%m-%dT%H:%M:%S)
ms=$(calc %.1f "1000 * $(qtime "$QREPS" "$B/out" "$ELOG" logs --db "$B/h10.db" --since "${w0}Z" --until "${w0}.999Z" -o cat)")
got=$(wc -l <"$B/out")
[ "$got" = 1000 ] || say "WARNING: the 1-second window printed $got records, expected 1000"
verdict "$ms" '<=' "$(bar QUERY_MS 50)"
row "logs --since/--until, 1 s ($got records), median (ms)" "$ms" "-" "<= $(bar QUERY_MS 50) ms $V"
rm -f "$B/out" "$B/gout"
phase "queries at $BIG records"

# ---- 5a. retention: N lines with a bound of a third of what they take (next to step 5's empty ingest)
if [[ $SKIP != *" retention "* ]]; then
	bound=$((h1_bytes / 3 / 1048576))
	[ "$bound" -lt 8 ] && bound=8
	start_serve "$B/r.db" --retain-size "${bound}M"
	max=0
	"$ELOG" send <"$B/first.jsonl" &
	SEND=$!
	t0=$EPOCHREALTIME
	i=0
	while kill -0 "$SEND" 2>/dev/null && [ $i -lt 60000 ]; do
		s=$(disk_bytes "$B/r.db")
		[ "$s" -gt "$max" ] && max=$s
		sleep 0.05; i=$((i + 1))
	done
	wait "$SEND"
	r_ingest2=$(since "$t0")
	stop_serve
	r_rate=$(calc %.0f "$N / $r_ingest2")
	slack=$(calc %.3f "$max / ($bound * 1048576)")
	rm -f "$B/r.db"*
	phase "retention"
fi

# ---- 5. the next N lines into the BIG-record history, next to the same lines into an empty one
# just before (step 1 was minutes ago: on a shared machine the load moves more than that)
start_serve "$B/e2.db" --retain-size 0
send_timed e_empty "$B/extra.jsonl"
stop_serve
rm -f "$B/e2.db"*
start_serve "$B/h10.db" --retain-size 0
send_timed e_next "$B/extra.jsonl"
bar_ratio "ingest lines $((BIG + 1))..$((BIG + N)) (lines/s) / the same into empty" \
	"$(calc %.0f "$N / $e_next")" "$(calc %.0f "$N / $e_empty")" "$e_empty / $e_next" \
	"$(bar INGEST_BIG 0.9)"
if [[ $SKIP != *" retention "* ]]; then
	row "ingest $N lines, --retain-size ${bound}M (lines/s) / empty, none" \
		"$r_rate" "$(calc %.0f "$N / $e_empty")" "$(calc %.2fx "$e_empty / $r_ingest2") (no bar)"
	verdict "$slack" '<=' 1.25
	row "  largest history seen / bound (MiB, polled every 50 ms)" \
		"$(calc %.1f "$max / 1048576")" "$bound" "$(calc %.2fx "$slack") (<= 1.25x) $V"
fi
phase "the next $N lines"

# ---- 6. follow latency on that serve ------------------------------------------------------
serve_cpu() {   # serve's CPU time so far, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$SERVE_PID/stat" 2>/dev/null || echo 0
}
wait_idle() {   # until serve used under 10% of a core for 0.5 s (at most 180 s); prints seconds
	local t0=$EPOCHREALTIME c0 c1 hz i=0
	hz=$(getconf CLK_TCK)
	c0=$(serve_cpu)
	while [ $i -lt 360 ]; do
		sleep 0.5
		c1=$(serve_cpu)
		[ $(( (c1 - c0) * 100 )) -lt $((hz * 5)) ] && break
		c0=$c1; i=$((i + 1))
	done
	calc %.1f "$(since "$t0")"
}
if [[ $SKIP != *" latency "* ]]; then
	res=$("$B/latency" "$LAT_RATE" "$LAT_SECONDS" 1 "$ELOG" "$B")
	say "follow latency right after the burst, 1 follower: $res"
	p99=$(echo "$res" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
	row "follow p99 at $LAT_RATE/s right after the burst, 1 follower (ms)" "${p99:-?}" "-" \
		"(no bar)"
	idle=$(wait_idle)
	say "serve idle after $idle s"
	for k in 1 "$LAT_FOLLOWERS"; do
		res=$("$B/latency" "$LAT_RATE" "$LAT_SECONDS" "$k" "$ELOG" "$B")
		say "follow latency, $k follower(s): $res"
		p99=$(echo "$res" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
		b=$(bar LAT_P99_$k "$([ "$k" = 1 ] && echo 5 || echo 10)")
		if [ -z "$p99" ] || [[ $res == *DUPLICATES* ]]; then
			verdict 1 '<' 0
			row "follow p99 at $LAT_RATE/s, $k follower(s) (ms)" \
				"$([[ $res == *lost* ]] && echo lost || echo ?)" "-" "<= $b ms $V"
		else
			verdict "$p99" '<=' "$b"
			row "follow p99 at $LAT_RATE/s, $k follower(s) (ms)" "$p99" "-" "<= $b ms $V"
		fi
	done
	phase "follow latency"
fi
stop_serve

echo
echo "$NPASS of $NBARS bars hold; $(calc %.0f "$(since "$START")") s in all; load $LOAD0 at the start, $(load) at the end"
