#!/bin/sh
# elog logs colors (issue #16 item 9): components colored in order of first appearance in the
# history, the same in every run and every view (server, --db, filtered); distinct among the
# first palette entries; never a level's color; 256 colors / true color / basic by TERM and
# COLORTERM; the prefix width from the components in the view.
. "$(dirname "$0")/lib.sh"

start_serve h

# Components first appear in this order (not the name order): zeta, db, web, alpha, ...
: >"$T/in"
for c in zeta db web alpha api cache worker auth gateway billing search mailer; do
	printf '{"component":"%s","level":"info","msg":"hello %s"}\n' "$c" "$c" >>"$T/in"
done
printf '{"component":"db","level":"warn","msg":"w"}\n{"component":"web","level":"error","msg":"e"}\n' >>"$T/in"
elog send <"$T/in" || fail "send"

# colors FILE: "component code" per line, one per component, from --color=always output
# (fails when a component shows in two colors or a line has no color).
colors() {
	$PY - "$1" <<'EOF'
import re, sys
col = {}
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    m = re.match(r"\x1b\[([0-9;]+)m([\w-]+)\x1b\[0m", line)
    assert m, "line starts without a color: %r" % line
    col.setdefault(m.group(2), set()).add(m.group(1))
for name, codes in sorted(col.items()):
    assert len(codes) == 1, "%s has several colors %s" % (name, codes)
    print(name, next(iter(codes)))
EOF
}

say "two runs, --db and a filtered view give each component the same color"
TERM=xterm-256color elog logs --color=always >"$T/c1" || fail "logs 1"
TERM=xterm-256color elog logs --color=always >"$T/c2" || fail "logs 2"
colors "$T/c1" >"$T/k1" || fail "colors 1"
colors "$T/c2" >"$T/k2" || fail "colors 2"
test_cmp "$T/k1" "$T/k2"
TERM=xterm-256color elog logs --db "$T/h.db" --color=always >"$T/c3" || fail "logs --db"
colors "$T/c3" >"$T/k3" || fail "colors 3"
test_cmp "$T/k1" "$T/k3"
TERM=xterm-256color elog logs --color=always -c web,alpha >"$T/c4" || fail "logs -c"
colors "$T/c4" >"$T/k4" || fail "colors 4"
grep -E '^(alpha|web) ' "$T/k1" >"$T/k4want"
test_cmp "$T/k4want" "$T/k4"

say "the order of first appearance: zeta (first sent) gets the first palette color"
grep -qx 'zeta 38;5;39' "$T/k1" || fail "zeta: $(grep zeta "$T/k1")"
grep -qx 'db 38;5;201' "$T/k1" || fail "db: $(grep '^db' "$T/k1")"

say "a component that appears later does not change the others' colors"
elog send -c aaa-new "late" || fail "send late"
TERM=xterm-256color elog logs --color=always >"$T/c5" || fail "logs 5"
colors "$T/c5" >"$T/k5" || fail "colors 5"
grep -v '^aaa-new ' "$T/k5" >"$T/k5old"
test_cmp "$T/k1" "$T/k5old"

say "the first 12 components have 12 different colors, none a level's"
$PY - "$T/k1" <<'EOF' || fail "distinct / level colors"
import sys
codes = [l.split()[1] for l in open(sys.argv[1])]
assert len(codes) == 12, codes
assert len(set(codes)) == 12, codes
# level colors: INFO green, WARN yellow, ERROR/FATAL red (basic and 256 forms)
reserved = {"31", "32", "33", "91", "92", "93", "1;31", "1;97;41"}
reserved |= {"38;5;%d" % c for c in (1, 2, 3, 9, 10, 11, 28, 34, 40, 46, 160, 196, 226)}
for c in codes:
    assert c not in reserved, c
    if c.startswith("38;5;"):
        n = int(c[5:])
        if 16 <= n <= 231:
            n -= 16
            r, g, b = n // 36, n // 6 % 6, n % 6
            assert not (g > b and g >= r), "greenish %s" % c     # green/yellow hues
            assert not (r > b and r > g), "reddish %s" % c
EOF

say "basic colors without 256color in TERM, 24-bit with COLORTERM"
TERM=xterm elog logs --color=always >"$T/b" || fail "logs basic"
colors "$T/b" >"$T/kb" || fail "colors basic"
$PY - "$T/kb" <<'EOF' || fail "basic codes"
import sys
codes = [l.split()[1] for l in open(sys.argv[1])]
assert all(c in ("34", "35", "36", "94", "95", "96") for c in codes), codes
assert len(set(codes[:6])) == 6 or len(set(codes)) == 6, codes
EOF
grep -qx 'zeta 36' "$T/kb" || fail "zeta basic: $(grep zeta "$T/kb")"
TERM=xterm COLORTERM=truecolor elog logs --color=always >"$T/tc" || fail "logs truecolor"
colors "$T/tc" >"$T/ktc" || fail "colors truecolor"
grep -qx 'zeta 38;2;0;175;255' "$T/ktc" || fail "zeta truecolor: $(grep zeta "$T/ktc")"
TERM=xterm COLORTERM=24bit elog logs --color=always -c zeta >"$T/tc2" || fail "logs 24bit"
grep -q "38;2;0;175;255mzeta" "$T/tc2" || fail "24bit"

say "the prefix width comes from the components in the view"
elog logs --color=never -c web,db -n 2 >"$T/w" || fail "logs -c web,db"
printf 'db  | WARN  w\nweb | ERROR e\n' >"$T/want"
test_cmp "$T/want" "$T/w"
elog logs --color=never -E aaa-new -l warn+ >"$T/w" || fail "logs -E"
printf 'db      | WARN  w\nweb     | ERROR e\n' >"$T/want"
test_cmp "$T/want" "$T/w"
elog logs --db "$T/h.db" --color=never -c zeta >"$T/w" || fail "logs --db -c zeta"
[ "$(cat "$T/w")" = "zeta | INFO  hello zeta" ] || fail "width -c zeta: $(cat "$T/w")"
