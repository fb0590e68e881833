#!/bin/sh
# elog prune (issue #17): --before TIME and --size SIZE remove the oldest records, -c only
# those of some components; it works on the file while serve runs; ids are never reused (not
# even after every record went); the freed pages go back to the file system; a component keeps
# its color (order of first appearance) after all its records were removed.
. "$(dirname "$0")/lib.sh"

q() { sqlite3 "$T/p.db" "$1"; }

say "prune needs --before or --size; a missing history is an error, not a new file"
must_fail 2 "no criterion" elog prune --db "$T/p.db" 2>"$T/e1"
grep -q "elog prune: say what to remove: --before TIME or --size SIZE" "$T/e1" ||
	fail "$(cat "$T/e1")"
must_fail 1 "missing file" elog prune --db "$T/none.db" --size 1M 2>"$T/e2"
grep -q "cannot open history '$T/none.db'" "$T/e2" || fail "$(cat "$T/e2")"
[ -e "$T/none.db" ] && fail "prune made $T/none.db"
must_fail 2 "bad time" elog prune --db "$T/p.db" --before yesterdayish 2>/dev/null

start_serve p
say "prune --before, while serve has the history: the records that arrived before TIME go"
elog send -c first "the very first" || fail "send first"
for i in $(seq 1 300); do echo "{\"component\":\"a\",\"msg\":\"old $i\"}"; done | elog send ||
	fail "send old"
# every record sent so far arrived before cut (they were acknowledged), the next ones after
cut=$(date +%s.%N)
for i in $(seq 1 200); do echo "{\"component\":\"b\",\"msg\":\"new $i\"}"; done | elog send ||
	fail "send new"
color() { awk -F'b' 'NR == 1 { print $1 }' "$1" | od -An -c | tr -s ' '; }
elog logs -c b -n 1 --color=always >"$T/col1" || fail "logs colors"
elog prune --db "$T/p.db" --before "@$cut" >"$T/out1" 2>"$T/err1" || fail "prune: $(cat "$T/err1")"
grep -q "^removed 301 records; the history holds 200 records in [0-9]* bytes" "$T/out1" ||
	fail "$(cat "$T/out1")"
[ "$(q "SELECT count(*) FROM records WHERE msg LIKE 'old %' OR component = 'first'")" = 0 ] ||
	fail "old records left"
[ "$(q "SELECT count(*) FROM records")" = 200 ] || fail "$(q "SELECT count(*) FROM records") left"

say "serve goes on after the prune: new ids follow the old ones"
elog send -c b "after prune" || fail "send after"
[ "$(q "SELECT max(id) FROM records")" = 502 ] || fail "max id $(q "SELECT max(id) FROM records")"

say "a component keeps its color after all its records went (first-seen order is kept)"
# 'first' and 'a' had the first two colors: b keeps the third after they went
elog logs -c b -n 1 --color=always >"$T/col2" || fail "logs colors"
[ -n "$(color "$T/col1")" ] && [ "$(color "$T/col2")" = "$(color "$T/col1")" ] ||
	fail "b's color changed: $(cat -v "$T/col1") / $(cat -v "$T/col2")"
stop_serve
elog logs --db "$T/p.db" -c b -n 1 --color=always >"$T/col3" || fail "logs --db colors"
[ "$(color "$T/col3")" = "$(color "$T/col1")" ] ||
	fail "b's color changed with --db: $(cat -v "$T/col1") / $(cat -v "$T/col3")"
[ "$(q "SELECT group_concat(name) FROM (SELECT name FROM components ORDER BY first_id)")" = "first,a,b" ] ||
	fail "components: $(q "SELECT name, first_id FROM components")"

say "prune -c: only that component's records go; readers of it are told"
start_serve p
for i in $(seq 1 50); do echo "{\"component\":\"c\",\"msg\":\"c $i\"}"; done | elog send ||
	fail "send c"
elog prune --db "$T/p.db" -c c --before "@$(($(date +%s) + 60))" >"$T/out2" || fail "prune -c"
grep -q "^removed 50 records" "$T/out2" || fail "$(cat "$T/out2")"
[ "$(q "SELECT count(*) FROM records WHERE component = 'c'")" = 0 ] || fail "c records left"
[ "$(q "SELECT count(*) FROM records WHERE component = 'b'")" = 201 ] || fail "b records went"
elog logs -c c --since @1 >/dev/null 2>"$T/c.err"
grep -q "^elog: records before id 553 were removed by retention$" "$T/c.err" ||
	fail "reader of c: $(cat "$T/c.err")"
stop_serve

say "prune --size: the oldest go until the data fits; the file shrinks"
for i in $(seq 1 20000); do echo "{\"component\":\"big\",\"msg\":\"padding padding padding padding $i\"}"; done >"$T/big"
start_serve p
elog send <"$T/big" || fail "send big"
stop_serve
before=$(stat -c %s "$T/p.db")
elog prune --db "$T/p.db" --size 100K >"$T/out3" || fail "prune --size"
after=$(stat -c %s "$T/p.db")
[ "$after" -le $((100 * 1024 + 64 * 1024)) ] || fail "file $after bytes after --size 100K (was $before)"
[ "$after" -lt "$before" ] || fail "file did not shrink: $before -> $after"
# (counted through elog: a burst of 20000 may be sealed in blocks as it comes)
elog export --db "$T/p.db" --csv | tail -1 | grep -q 'padding padding padding padding 20000' ||
	fail "the newest record went: $(elog export --db "$T/p.db" --csv | tail -1)"
[ "$(history_count "$T/p.db")" -lt 20000 ] || fail "nothing removed"

say "prune everything: ids still go on after the last one removed"
last=$(history_last_id "$T/p.db")
elog prune --db "$T/p.db" --size 0 >"$T/out4" || fail "prune all"
[ "$(history_count "$T/p.db")" = 0 ] || fail "records left: $(history_count "$T/p.db")"
start_serve p
elog send -c z "after all" || fail "send after all"
[ "$(history_last_id "$T/p.db")" = $((last + 1)) ] ||
	fail "id $(history_last_id "$T/p.db"), last was $last"
elog ps --disk | grep -q "^removed:  records before id $((last + 1)) " || fail "ps --disk: $(elog ps --disk)"
stop_serve
