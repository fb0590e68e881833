#!/bin/sh
# A listen address other than loopback without TLS is warned about, loudly, on stderr at start
# (even with --quiet); loopback-only and TLS listens are not. Keys sent in plaintext are
# refused unless the peer is on loopback (tests/unit/test_rpcaddr.c checks that decision for
# other peers; this test sends nothing to a non-loopback address): a key over loopback to a
# port bound on 0.0.0.0 is still accepted.
. "$(dirname "$0")/lib.sh"
warned() { grep -q "warning: listening on '$2' in plaintext, without TLS" "$T/$1.err"; }

say "--listen 0.0.0.0:0 without TLS: a warning naming the address"
start_serve any --listen 0.0.0.0:0
cat "$T/any.err"
warned any 0.0.0.0:0 || fail "no warning: $(cat "$T/any.err")"
grep -q "API keys from other hosts are refused" "$T/any.err" || fail "the warning does not say keys are refused"
stop_serve

say "with --quiet too"
start_serve quiet --quiet --listen 0.0.0.0:0
warned quiet 0.0.0.0:0 || fail "no warning with --quiet: $(cat "$T/quiet.err")"
stop_serve

say "loopback only: no warning"
start_serve lo --listen '127.0.0.2:0' --listen localhost:0
grep -q warning "$T/lo.err" && fail "warning for loopback: $(cat "$T/lo.err")"
stop_serve

say "TLS on 0.0.0.0: no warning"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -keyout "$T/k.pem" -out "$T/c.pem" >/dev/null 2>&1; then
	start_serve tls --listen 0.0.0.0:0 --tls-cert "$T/c.pem" --tls-key "$T/k.pem"
	grep -q warning "$T/tls.err" && fail "warning with TLS: $(cat "$T/tls.err")"
	stop_serve
else
	say "skipped: openssl cannot make a certificate"
fi

say "--auth on 0.0.0.0: a key over loopback is accepted, and refused without one"
elog keys create k --db "$T/auth.db" >"$T/k.key" 2>/dev/null || fail "create key"
start_serve auth --auth --listen 0.0.0.0:0
ANYPORT=$(sed -n 2p "$T/auth.ready" | sed 's/.*://')
ELOG_API_KEY=$(cat "$T/k.key") elog send --server "127.0.0.1:$ANYPORT" -c t "over loopback" ||
	fail "a key over loopback to the 0.0.0.0 port was refused"
elog send --server "127.0.0.1:$ANYPORT" -c t "no key" 2>/dev/null && fail "a call without a key was served"
[ "$(ELOG_API_KEY=$(cat "$T/k.key") elog logs -c t)" = "t | INFO  over loopback" ] || fail "logs"
stop_serve
