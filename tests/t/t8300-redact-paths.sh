#!/bin/sh
# Redaction on every ingest path: a corpus of secrets in every form (tests/corpus/redact:
# secrets.txt, one secret a line or a key block over lines; fields.jsonl, secrets in fields at
# any depth) goes in through `elog send` (lines and JSON lines), elog.v1.Hub/Ingest,
# the Electrician relay, logging.v1 frames (session files, rotated and gzipped) and flowctl
# StreamLogs while a follower reads. Then not one secret's bytes (secrets.needles,
# fields.needles) may be found in the history file, its WAL, the session files (compressed
# ones decompressed), `elog export` or the follower's output. A serve with --no-redact, fed
# the same lines, shows the grep finds them when they are there.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t8300: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
C=$ELOG_TOP/tests/corpus/redact
cat "$C/secrets.needles" "$C/fields.needles" >"$T/needles"
py_stubs "$T/stubs" || fatal "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/redact_peer.py" "$@"; }
nsec=$(wc -l <"$C/secrets.txt")
njson=$(wc -l <"$C/fields.jsonl")

# found FILE...: prints the needles found in the files (nothing when none)
found() { cat "$@" | grep -a -o -F -f "$T/needles" | sort -u; }

start_serve r --log-max-size 3000 --log-compression gzip --log-flush-interval 50ms
"$ELOG_BIN" logs -f --json >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!
BG_PIDS="$BG_PIDS $FOLLOW"

say "the corpus goes in on every path"
elog send -c send-lines <"$C/secrets.txt" || fail "send lines"
elog send -c send-json <"$C/fields.jsonl" || fail "send json lines"
for m in native relay logsvc flowctl; do
	r=$(peer $m "$SERVER" "$T/stubs" "$C/secrets.txt" "$m-lines") || fail "$m lines: $r"
	r=$(peer $m "$SERVER" "$T/stubs" "$C/fields.jsonl" "$m-json") || fail "$m json: $r"
done
total=$((5 * (nsec + njson)))
have() { [ "$(elog export --json | wc -l)" -ge "$1" ]; }
wait_for "$total records" 30 have "$total"
elog export --json >"$T/export.out" || fail "export"
[ "$(wc -l <"$T/export.out")" = "$total" ] ||
	fail "export has $(wc -l <"$T/export.out") records, expected $total"
followed() { [ "$(wc -l <"$T/follow.out")" -ge "$total" ]; }
wait_for "the follower's $total records" 30 followed

say "no secret in the export or the follower's output"
f=$(found "$T/export.out"); [ -z "$f" ] || fail "export holds: $(echo "$f" | head -3)"
f=$(found "$T/follow.out"); [ -z "$f" ] || fail "follower got: $(echo "$f" | head -3)"

say "no secret in the history file or its WAL"
[ -s "$T/r.db-wal" ] || [ -s "$T/r.db" ] || fail "no history file"
cp "$T/r.db" "$T/db.copy"; cp "$T/r.db-wal" "$T/wal.copy" 2>/dev/null || : >"$T/wal.copy"
f=$(found "$T/db.copy" "$T/wal.copy"); [ -z "$f" ] || fail "history holds: $(echo "$f" | head -3)"

say "every record that carried a secret says which rules fired"
for c in send-lines native-lines relay-lines logsvc-lines flowctl-lines; do
	n=$(elog export --json -c "$c" | grep -c '"redacted":\[')
	# every line of the corpus but the last one holds a secret or a key block line
	[ "$n" = $((nsec - 1)) ] || fail "$c: $n records marked redacted, expected $((nsec - 1))"
done
for c in send-json native-json relay-json logsvc-json flowctl-json; do
	n=$(elog export --json -c "$c" | grep -c '"redacted":\[')
	[ "$n" = "$njson" ] || fail "$c: $n records marked redacted, expected $njson"
done
elog export --json -c send-lines | grep -q 'password=\[REDACTED:secret-kv\] user=deploy' ||
	fail "the key of a key-value pair is kept"
elog export --json -c send-json | grep -q '"auth":{"password":"\[REDACTED:secret-kv\]"}' ||
	fail "a nested secret field: $(elog export --json -c send-json | head -1)"

say "elog ps counts the records each rule changed"
elog ps --redaction >"$T/ps.out" || fail "ps --redaction"
grep -q '^private-key  *on  *[1-9]' "$T/ps.out" || fail "ps: $(cat "$T/ps.out")"
grep -q '^secret-kv  *on  *[1-9]' "$T/ps.out" || fail "ps: $(cat "$T/ps.out")"
grep -q '^email  *off  *0$' "$T/ps.out" || fail "ps: email $(grep email "$T/ps.out")"
elog ps | grep -q '^redacted (records changed per rule): .*secret-kv [1-9]' ||
	fail "no redaction line under ps: $(elog ps | tail -2)"
elog ps --redaction --json | grep -q '{"rule":"card-number","enabled":true,"builtin":true,"records":[1-9]' ||
	fail "ps --redaction --json: $(elog ps --redaction --json | grep card)"

kill "$FOLLOW" 2>/dev/null
stop_serve

say "no secret in the session files, rotated, compressed or not"
D=$T/sessions
ls "$D" | grep -q '\.gz$' || fail "no compressed session file: $(ls "$D")"
: >"$T/sessions.all"
for f in "$D"/*; do
	case $f in
	*.gz) gzip -dc "$f" >>"$T/sessions.all" || fail "cannot decompress $f" ;;
	*) cat "$f" >>"$T/sessions.all" ;;
	esac
done
grep -c '"content"' "$T/sessions.all" | grep -q "^$((nsec + njson))$" ||
	fail "session files hold $(grep -c '"content"' "$T/sessions.all") frames, expected $((nsec + njson))"
grep -q '\[REDACTED:' "$T/sessions.all" || fail "no redaction mark in the session files"
f=$(found "$T/sessions.all"); [ -z "$f" ] || fail "session files hold: $(echo "$f" | head -3)"
f=$(found "$T/r.db" "$T/r.db-wal" 2>/dev/null); [ -z "$f" ] || fail "history after close: $f"

say "control: with --no-redact the same grep finds the secrets"
start_serve plain --no-redact --log-dir "$T/plain-sessions"
grep -q 'WARNING: --no-redact: redaction is OFF' "$T/plain.err" ||
	fail "no loud warning: $(cat "$T/plain.err")"
elog send -c plain <"$C/secrets.txt" || fail "send"
r=$(peer logsvc "$SERVER" "$T/stubs" "$C/fields.jsonl" plain-json) || fail "logsvc: $r"
elog ps | grep -q '^redaction: OFF' || fail "ps does not say redaction is off"
elog export --json >"$T/plain.out"
[ "$(found "$T/plain.out" | wc -l)" -ge 50 ] || fail "the grep found $(found "$T/plain.out" | wc -l) secrets"
stop_serve
[ "$(found "$T/plain-sessions"/* | wc -l)" -ge 9 ] || fail "session files: the grep finds nothing"
[ "$(found "$T/plain.db" | wc -l)" -ge 50 ] || fail "the grep finds $(found "$T/plain.db" | wc -l) secrets in the history"
