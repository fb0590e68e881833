#!/bin/sh
# Redaction of a logging.v1 session id: the id names the session's files and is its records'
# component, so a secret in it (a GitHub token, a key-value password, a JWT) must reach
# neither the session files (their names or their lines, rotated, compressed or not), nor the
# history file or its WAL, nor `elog export`. The frames are kept, under the redacted id. A
# serve with --no-redact, sent the same frames, shows the grep finds the secrets when they
# are there.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t8302: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fatal "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/redact_peer.py" "$@"; }

GH=ghp_R2d2C3poBb8Lk4Zq9Wx7Yt6Uv5Ss4Rr3Qq2P
PW=Hunter2SessionPw77
JWT=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZXNzaW9uLXVzZXIifQ.k8Zq1Vb3Nw9Pl2Xc7Rt5Ys4Ud6Wa0Ee
printf '%s\n' "$GH" "$PW" "$JWT" "${GH#ghp_}" "${JWT##*.}" >"$T/needles"
# three sessions, each id holding a secret; ordinary frames
i=0
while [ $i -lt 40 ]; do echo "turn $i of the conversation, nothing secret here"; i=$((i + 1)); done >"$T/frames.txt"
ids="chat-$GH
user=bob password=$PW
conv-$JWT"

# found FILE...: the needles found in the files (nothing when none)
found() { cat "$@" | grep -a -o -F -f "$T/needles" | sort -u; }
# sessions_all DIR: every session file of DIR, decompressed, and their names, on stdout
sessions_all() {
	ls "$1"
	for f in "$1"/*; do
		case $f in
		*.gz) gzip -dc "$f" ;;
		*) cat "$f" ;;
		esac
	done
}

start_serve r --log-max-size 2000 --log-compression gzip --log-flush-interval 50ms

say "frames of sessions whose ids hold secrets are all kept"
echo "$ids" | while IFS= read -r id; do
	r=$(peer logsvc "$SERVER" "$T/stubs" "$T/frames.txt" "$id") || fail "logsvc '$id': $r"
done
have() { [ "$(elog export --json | wc -l)" -ge 120 ]; }
wait_for "120 records" 30 have
elog export --json >"$T/export.out" || fail "export"
[ "$(wc -l <"$T/export.out")" = 120 ] || fail "export has $(wc -l <"$T/export.out") records"

say "no secret of a session id in the export; the components are the redacted ids"
f=$(found "$T/export.out"); [ -z "$f" ] || fail "export holds: $f"
for c in 'chat-[REDACTED:github-token]' 'user=bob password=[REDACTED:secret-kv]' \
	 'conv-[REDACTED:jwt]'; do
	n=$(grep -c -F "\"component\":\"$c\"" "$T/export.out")
	[ "$n" = 40 ] || fail "component '$c': $n records, expected 40"
done

say "each record of such a session lists the rule that fired on its id in its 'redacted' field"
for cr in 'chat-[REDACTED:github-token]|github-token' 'user=bob password=[REDACTED:secret-kv]|secret-kv' \
	  'conv-[REDACTED:jwt]|jwt'; do
	c=${cr%|*} r=${cr#*|}
	n=$(grep -F "\"component\":\"$c\"" "$T/export.out" | grep -c -F "\"redacted\":[\"$r\"]")
	[ "$n" = 40 ] || fail "component '$c': $n records list '$r' in 'redacted', expected 40"
done

say "a secret in a component or source sent by elog send is redacted too, and listed"
elog send -c "worker token=$PW" "a line" || fail "send with a secret component"
echo "{\"component\":\"chat-$GH\",\"msg\":\"json line\"}" | elog send || fail "send json"
elog export --json >"$T/export2.out" || fail "export 2"
f=$(found "$T/export2.out"); [ -z "$f" ] || fail "export holds: $f"
grep -F '"component":"worker token=[REDACTED:secret-kv]"' "$T/export2.out" | grep -q -F '"redacted":["secret-kv"]' ||
	fail "component with a key-value secret: $(grep -F 'a line' "$T/export2.out")"
grep -F '"component":"chat-[REDACTED:github-token]"' "$T/export2.out" | grep -F 'json line' |
	grep -q -F '"redacted":["github-token"]' || fail "json component: $(grep -F 'json line' "$T/export2.out")"

say "elog ps counts the rules that fired on session ids"
elog ps --redaction >"$T/ps.out" || fail "ps --redaction"
for r in github-token secret-kv jwt; do
	grep -q "^$r  *on  *[1-9]" "$T/ps.out" || fail "ps: $(grep "^$r" "$T/ps.out")"
done
stop_serve

say "no secret of a session id in the session files (names and lines) or the history"
D=$T/sessions
ls "$D" | grep -q '\.gz$' || fail "no compressed session file: $(ls "$D")"
sessions_all "$D" >"$T/sessions.all"
n=$(grep -c '"content"' "$T/sessions.all")
[ "$n" = 120 ] || fail "session files hold $n frames, expected 120"
grep -q '"session_id":"chat-\[REDACTED:github-token\]"' "$T/sessions.all" ||
	fail "no redacted session_id in the session files: $(head -c 300 "$T/sessions.all")"
f=$(found "$T/sessions.all"); [ -z "$f" ] || fail "session files hold: $f"
f=$(found "$T/r.db" "$T/r.db-wal" 2>/dev/null); [ -z "$f" ] || fail "history holds: $f"

say "control: with --no-redact the same grep finds the secrets in the ids"
start_serve plain --no-redact --log-dir "$T/plain-sessions" --log-compression gzip
echo "$ids" | while IFS= read -r id; do
	r=$(peer logsvc "$SERVER" "$T/stubs" "$T/frames.txt" "$id") || fail "logsvc '$id': $r"
done
elog export --json >"$T/plain.out"
[ "$(found "$T/plain.out" | wc -l)" -ge 3 ] || fail "export: the grep found $(found "$T/plain.out")"
stop_serve
sessions_all "$T/plain-sessions" >"$T/plain.all"
[ "$(found "$T/plain.all" | wc -l)" -ge 3 ] || fail "session files: the grep found $(found "$T/plain.all")"
[ "$(found "$T/plain.db" "$T/plain.db-wal" 2>/dev/null | wc -l)" -ge 3 ] ||
	fail "history: the grep found $(found "$T/plain.db" "$T/plain.db-wal" 2>/dev/null)"
