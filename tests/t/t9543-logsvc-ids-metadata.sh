#!/bin/sh
# logging.v1 session ids and metadata (hardening #14, findings 17 and 4): ids that differ only
# after a NUL byte or only in invalid UTF-8 would have shared one file; they are refused
# (INVALID_ARGUMENT) and distinct valid ids keep distinct files. Duplicate metadata keys are
# resolved in O(n log n) (the last value wins) and metadata past 10000 entries is refused,
# naming the limit.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t9543: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
D=$T/sessions
start_serve s

say "a session id with a NUL byte is refused, not cut at the NUL"
r=$(peer raw "$SERVER" "$T/stubs" 6e756c)                 # "nul"
[ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "nul: $r"
r=$(peer raw "$SERVER" "$T/stubs" 6e756c0078)             # "nul\0x"
case $r in
"ERR INVALID_ARGUMENT session_id 'nul' holds a NUL byte") ;;
*) fail "nul\\0x: $r" ;;
esac
[ "$(wc -l <"$D/nul.logtmp")" = 1 ] || fail "nul.logtmp got the frame of 'nul\\0x'"

say "session ids that differ only in invalid UTF-8 are refused, not mapped to U+FFFD"
r=$(peer raw "$SERVER" "$T/stubs" 61ff)                   # "a\xff"
case $r in
"ERR INVALID_ARGUMENT session_id 'a"*"' is not valid UTF-8") ;;
*) fail "a\\xff: $r" ;;
esac
r=$(peer raw "$SERVER" "$T/stubs" 61fe)
case $r in "ERR INVALID_ARGUMENT "*) ;; *) fail "a\\xfe: $r" ;; esac
! ls "$D" | grep -q '^a%EF%BF%BD' || fail "a file for U+FFFD: $(ls "$D")"
[ "$(elog export --json -c "a$(printf '\357\277\275')" | wc -l)" = 0 ] || fail "history has a U+FFFD id"

say "valid ids that look alike keep distinct files (escaping and '%' itself)"
# "a/b", "a%2Fb", "a%252Fb", "é" and its escape as text
r=$(peer raw "$SERVER" "$T/stubs" 612f62 6125324662 61253235324662 c3a9 254333254139 25)
[ "$r" = "ACK 6 ACKNOWLEDGED" ] || fail "look-alike ids: $r"
for f in a%2Fb a%252Fb a%25252Fb %C3%A9 %25C3%25A9 %25; do
	[ "$(wc -l <"$D/$f.logtmp")" = 1 ] || fail "$f.logtmp: $(ls "$D")"
done

say "duplicate metadata keys: the last value wins, in n log n"
r=$(peer meta "$SERVER" "$T/stubs" M 3000 3)
[ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "3000 keys x 3: $r"
elog export --json -c M >"$T/M.json" || fail "export M"
$PY - "$T/M.json" <<'PY' || fail "metadata of M"
import json, sys
m = json.loads(open(sys.argv[1]).readline())["fields"]["metadata"]
assert len(m) == 3000, len(m)
assert all(v == 2 for v in m.values()), [v for v in m.values() if v != 2][:3]
assert list(m)[:2] == ["k0", "k1"], list(m)[:2]
PY

say "metadata past 10000 entries is refused quickly, naming the limit"
r=$(peer meta "$SERVER" "$T/stubs" N 10001 1)
[ "$r" = "ERR INVALID_ARGUMENT metadata of session 'N' holds more than 10000 entries (limit of metadata entries per frame: 10000)" ] ||
	fail "10001 entries: $r"
# 150000 entries (3 MB) may hit the decoding budget first (rpc_server.c): refused either way
t0=$(date +%s)
r=$(peer meta "$SERVER" "$T/stubs" N 50000 3)
t1=$(date +%s)
case $r in
"ERR INVALID_ARGUMENT metadata of session 'N' holds more than 10000 entries (limit of metadata entries per frame: 10000)") ;;
"ERR RESOURCE_EXHAUSTED 'logging.v1.LogFrame' of "*" bytes to decode: over the limit of 4 bytes per byte received plus 16 MiB") ;;
*) fail "150000 entries: $r" ;;
esac
[ $((t1 - t0)) -lt 30 ] || fail "150000 entries took $((t1 - t0)) s"
[ ! -e "$D/N.logtmp" ] || fail "N's frame was written"
r=$(peer meta "$SERVER" "$T/stubs" N 10000 1)
[ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "exactly 10000 entries: $r"
stop_serve
echo "t9543: ok"
