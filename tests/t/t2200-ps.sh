#!/bin/sh
# t2200-ps: `elog ps` over real processes — serve, senders of several components, levels and
# sources, and a python3-grpcio flowctl peer that registers services, heartbeats and pushes
# logs; `elog ps --json` checked field by field, the table's columns, --db without a server,
# the window of the last minute, a schema-1 history (scanned read-only, migrated by serve),
# the limit of components per answer, unhealthy services, serve --auth, hostile names, and an
# unreachable server (exit 3).
. "$(dirname "$0")/lib.sh"

have_peer=1
if ! $PY -c 'import grpc' 2>/dev/null ||
   { ! $PY -c 'import grpc_tools' 2>/dev/null &&
     { ! command -v protoc >/dev/null || [ ! -x /usr/bin/grpc_python_plugin ]; }; }; then
	echo "t2200: no python3-grpcio peer: the flowctl cases are skipped"
	have_peer=0
fi

# check_json FILE PYTHON: runs the python checks on the JSON Lines of FILE (as `by`, a dict
# from component name to its object, and `rows`, the list); prints what failed.
check_json() {
	$PY - "$1" "$2" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {r["component"]: r for r in rows}
errs = []
def want(cond, what):
    if not cond:
        errs.append(what)
exec(sys.argv[2])
for e in errs:
    print(e)
sys.exit(1 if errs else 0)
PYEOF
}

t0=$(date +%s%N)
start_serve h
printf 'e1\ne2\n' | elog send -c api -l error --multiline none || fail "send api error"
printf 'w1\nw2\nw3\n' | elog send -c api -l warn --multiline none || fail "send api warn"
printf 'i1\ni2\ni3\ni4\n' | elog send -c api --source cron --multiline none ||
	fail "send api cron"
printf 'h1\nh2\n' | elog send -c web --multiline none || fail "send web"
elog send -c web -l debug --source deploy-hook 'deployed' || fail "send web debug"
if [ $have_peer = 1 ]; then
	timeout 120 $PY "$ELOG_TOP/tests/py/ps_flowctl_peer.py" "$SERVER" "$ELOG_TOP/proto" ||
		fail "the flowctl peer failed: $(cat "$T/h.err")"
	# StreamLogs commits in the background: wait for the 3 entries and the 4 registry notes
	wait_for "the flowctl records" 30 sh -c \
		"\"$ELOG_BIN\" ps --json | grep -q '\"component\":\"flowapp\",\"count\":3,' &&
		 \"$ELOG_BIN\" ps --json | grep -q '\"component\":\"flowctl\",\"count\":4,'"
fi

say "ps --json: counts, levels and sources of each component"
elog ps --json >"$T/ps.json" 2>"$T/ps.err" || fail "ps --json: $(cat "$T/ps.err")"
t1=$(date +%s%N)
[ -s "$T/ps.err" ] && fail "ps wrote to stderr: $(cat "$T/ps.err")"
check_json "$T/ps.json" '
a = by.get("api"); w = by.get("web")
want(a and w, "api or web missing: %r" % list(by))
if a:
    want(a["count"] == 9, "api count %r" % a["count"])
    want(a["levels"] == {"trace": 0, "debug": 0, "info": 4, "warn": 3, "error": 2, "fatal": 0},
         "api levels %r" % a["levels"])
    want(a["sources"] == ["send", "cron"], "api sources %r (busiest first)" % a["sources"])
    want(a["sources_omitted"] == 0, "api sources_omitted")
    want(a["flowctl"] == [], "api flowctl %r" % a["flowctl"])
if w:
    want(w["count"] == 3, "web count %r" % w["count"])
    want(w["levels"]["info"] == 2 and w["levels"]["debug"] == 1, "web levels %r" % w["levels"])
    want(sorted(w["sources"]) == ["deploy-hook", "send"], "web sources %r" % w["sources"])
names = [r["component"] for r in rows]
want(names == sorted(names), "not sorted by name: %r" % names)
for r in rows:
    want(set(r) == {"component", "count", "first_seen", "last_seen", "first_seen_ns",
                    "last_seen_ns", "last_minute", "levels", "sources", "sources_omitted",
                    "flowctl"}, "%s: keys %r" % (r["component"], sorted(r)))
    want(r["count"] == sum(r["levels"].values()), "%s: levels do not add up" % r["component"])
' || fail "ps --json fields"

say "ps --json: first and last seen, and the last minute"
check_json "$T/ps.json" "
t0, t1 = $t0, $t1
for n in ('api', 'web'):
    r = by.get(n)
    if not r:
        want(False, n + ' missing'); continue
    want(t0 <= r['first_seen_ns'] <= r['last_seen_ns'] <= t1,
         '%s: first %r last %r not within the test [%r, %r]' % (n, r['first_seen_ns'], r['last_seen_ns'], t0, t1))
    want(r['first_seen'].endswith('Z') and r['first_seen'][:2] == '20', n + ' first_seen ' + r['first_seen'])
    # every record arrived during this test: all within the minute unless the machine is very slow
    if t1 - t0 < 50 * 10**9:
        want(r['last_minute'] == r['count'], '%s: last_minute %r of %r' % (n, r['last_minute'], r['count']))
" || fail "ps --json times"

if [ $have_peer = 1 ]; then
say "ps --json: flowctl services joined by component id, health from heartbeats"
check_json "$T/ps.json" '
f = by.get("flowapp"); i = by.get("flowidle"); l = by.get("lonely-1"); c = by.get("flowctl")
want(f and i and l and c, "flowapp, flowidle, lonely-1 or flowctl missing: %r" % list(by))
if f:
    want(f["count"] == 3 and f["levels"]["error"] == 1 and f["levels"]["info"] == 2,
         "flowapp counts %r %r" % (f["count"], f["levels"]))
    want(f["sources"] == ["flowctl"], "flowapp sources %r" % f["sources"])
    s = {x["service_id"]: x for x in f["flowctl"]}
    want(sorted(s) == ["flow-sink-1", "flow-src-1"], "flowapp services %r" % sorted(s))
    if "flow-src-1" in s:
        x = s["flow-src-1"]
        want(x["type"] == "source" and x["healthy"] is True and x["metrics"] == 2,
             "flow-src-1 %r" % x)
        want(x["last_heartbeat_ns"] > 0 and x["last_heartbeat"].endswith("Z"), "flow-src-1 heartbeat %r" % x)
    if "flow-sink-1" in s:
        x = s["flow-sink-1"]
        want(x["type"] == "sink" and x["healthy"] is True and x["metrics"] == 0,
             "flow-sink-1 %r" % x)
if i:
    want(i["count"] == 0 and i["first_seen"] is None and i["first_seen_ns"] == 0 and
         i["last_minute"] == 0 and i["sources"] == [], "flowidle (no records) %r" % i)
    want([(x["service_id"], x["type"], x["healthy"]) for x in i["flowctl"]] ==
         [("idle-1", "processor", True)], "flowidle services %r" % i["flowctl"])
if l:
    want([(x["service_id"], x["type"]) for x in l["flowctl"]] == [("lonely-1", "pipeline")],
         "lonely-1 services %r" % l["flowctl"])
if c:
    want(c["count"] == 4 and c["levels"]["info"] == 4 and c["sources"] == ["flowctl"],
         "flowctl registry notes %r" % c)
' || fail "ps --json flowctl"
fi

say "ps: a table with aligned columns, compact levels and relative times"
elog ps >"$T/table" 2>"$T/table.err" || fail "ps: $(cat "$T/table.err")"
head -1 "$T/table" | grep -q '^COMPONENT  *RECORDS  *LAST MIN  *FIRST  *LAST  *LEVELS  *SOURCES  *FLOWCTL$' ||
	fail "header: $(head -1 "$T/table")"
grep -q '^api  *9  *[0-9][0-9]*  *\(now\|[0-9]*s ago\)  *\(now\|[0-9]*s ago\)  *E:2 W:3 I:4  *send,cron  *-$' "$T/table" ||
	fail "api row: $(grep '^api' "$T/table")"
grep -q '^web  *3 .* I:2 D:1 ' "$T/table" || fail "web row: $(grep '^web' "$T/table")"
# RECORDS is right-aligned under its title: every line has its last digit where it ends
end=$(head -1 "$T/table" | awk '{ print index($0, "RECORDS") + 6 }')
awk -v e="$end" 'NR > 1 && substr($0, e, 1) !~ /[0-9]/ { print; bad = 1 } END { exit bad }' \
	"$T/table" || fail "RECORDS not aligned at column $end"
if [ $have_peer = 1 ]; then
	grep -q '^flowapp .* flow-sink-1 sink healthy (heartbeat \(now\|[0-9]*s ago\)), flow-src-1 source healthy' \
		"$T/table" || fail "flowapp row: $(grep '^flowapp' "$T/table")"
fi

say "ps: control bytes in a name are not sent to the terminal; long names are cut"
esc=$(printf 'evil\033[31mred')
long=$(printf 'x%.0s' $(seq 60))
elog send -c "$esc" 'hi' || fail "send evil"
elog send -c "$long" 'hi' || fail "send long"
elog ps >"$T/evil" || fail "ps evil"
grep -q "$(printf '\033')" "$T/evil" && fail "an escape byte reached the table"
grep -q '^evil?\[31mred ' "$T/evil" || fail "evil row: $(grep '^evil' "$T/evil")"
grep -q "^$(printf 'x%.0s' $(seq 39))~ " "$T/evil" || fail "long name not cut at 40: $(grep '^xxx' "$T/evil")"
elog ps --json | grep -q '"component":"evil\\u001b\[31mred"' || fail "json escape: $(elog ps --json | grep evil)"

say "ps: usage errors exit 2"
must_fail 2 "an argument" elog ps extra 2>/dev/null
must_fail 2 "an unknown flag" elog ps --bogus 2>/dev/null

say "ps with an unreachable server: exit 3 and a clear message"
must_fail 3 "no server" elog ps --server 127.0.0.1:1 --timeout 2 2>"$T/unreach.err"
grep -q "^elog: cannot reach server '127.0.0.1:1'" "$T/unreach.err" ||
	fail "message: $(cat "$T/unreach.err")"
must_fail 3 "no server, --json" elog ps --json --server 127.0.0.1:1 --timeout 2 2>/dev/null

stop_serve

say "ps --db reads the history without a server: the same counts, no flowctl part"
elog ps --db "$T/h.db" --json >"$T/db.json" 2>"$T/db.err" || fail "ps --db: $(cat "$T/db.err")"
check_json "$T/db.json" "
srv = {}
import json
for l in open('$T/ps.json'):
    r = json.loads(l); srv[r['component']] = r
for n, r in by.items():
    want('flowctl' not in r, n + ': flowctl key with --db')
    if n.startswith('evil') or n.startswith('xxx'):
        continue   # sent after ps.json was taken
    s = srv.get(n)
    want(s is not None, n + ' not listed by the server')
    if s:
        for k in ('count', 'levels', 'sources', 'first_seen_ns', 'last_seen_ns'):
            want(r[k] == s[k], '%s %s: %r, the server said %r' % (n, k, r[k], s[k]))
want('api' in by and 'web' in by, 'api/web missing')
want('flowidle' not in by, 'a flowctl-only component with --db')
" || fail "ps --db"
# the summary the counts come from matches the records, component by component
sqlite3 "$T/h.db" "SELECT component, count(*) FROM records GROUP BY 1 ORDER BY 1" >"$T/scan"
sqlite3 "$T/h.db" "SELECT component, sum(n) FROM component_stats GROUP BY 1 ORDER BY 1" >"$T/summary"
test_cmp "$T/scan" "$T/summary"
elog ps --db "$T/h.db" >"$T/dbtable" || fail "ps --db table"
head -1 "$T/dbtable" | grep -q 'SOURCES$' || fail "--db header: $(head -1 "$T/dbtable")"
must_fail 1 "a missing file" elog ps --db "$T/none.db" 2>"$T/none.err"
grep -q "cannot open history '$T/none.db'" "$T/none.err" || fail "missing file: $(cat "$T/none.err")"

say "ps --db: records that arrived over a minute ago are not in last_minute"
# api's records were the first ones: made 2 minutes older, arrival still grows with the id
cp "$T/h.db" "$T/old.db"
sqlite3 "$T/old.db" "UPDATE records SET arrival = arrival - 120000000000
	WHERE id <= (SELECT max(id) FROM records WHERE component = 'api');" || fail "sqlite3 update"
elog ps --db "$T/old.db" --json >"$T/old.json" || fail "ps --db old"
check_json "$T/old.json" '
w = by.get("web"); a = by.get("api")
want(a and a["last_minute"] == 0 and a["count"] == 9, "api %r" % a)
want(w and w["last_minute"] == 3, "web %r" % w)
' || fail "window"
elog ps --db "$T/old.db" | grep -q '^api  *9  *0  *2m ago  *2m ago ' ||
	fail "api row: $(elog ps --db "$T/old.db" | grep '^api')"

say "a schema-1 history: counted by a scan read-only, migrated (summary filled) by serve"
cp "$T/h.db" "$T/v1.db"
sqlite3 "$T/v1.db" "DROP TABLE component_stats; PRAGMA user_version = 1;" || fail "make v1"
elog ps --db "$T/v1.db" --json >"$T/v1.json" || fail "ps --db v1"
check_json "$T/v1.json" '
want(by.get("api", {}).get("count") == 9 and by["api"]["sources"] == ["send", "cron"],
     "api from a scan %r" % by.get("api"))
' || fail "v1 scan"
mv "$T/v1.db" "$T/mig.db"
start_serve mig
elog send -c api -l fatal 'after the migration' || fail "send after migration"
[ "$(sqlite3 "$T/mig.db" 'PRAGMA user_version')" = 6 ] || fail "not migrated to schema 6"
elog ps --json >"$T/mig.json" || fail "ps after migration"
check_json "$T/mig.json" '
a = by.get("api", {})
want(a.get("count") == 10 and a["levels"]["fatal"] == 1 and a["levels"]["error"] == 2,
     "api after migration %r" % a)
' || fail "migrated counts"
stop_serve

say "at most 4096 components per answer; the others are counted on stderr"
start_serve many
$PY -c 'for i in range(4100): print("{\"component\":\"c%04d\",\"msg\":\"x\"}" % i)' |
	elog send || fail "send 4100 components"
elog ps --json >"$T/many.json" 2>"$T/many.err" || fail "ps many"
[ "$(wc -l <"$T/many.json")" -eq 4096 ] || fail "$(wc -l <"$T/many.json") components listed"
grep -q '"component":"c4095"' "$T/many.json" || fail "c4095 missing (sorted by name)"
grep -q "^elog: 4 more components not shown: the limit is 4096 components" "$T/many.err" ||
	fail "stderr: $(cat "$T/many.err")"
stop_serve

if [ $have_peer = 1 ]; then
say "a service without heartbeats for --heartbeat-ttl is shown unhealthy"
start_serve ttl --heartbeat-ttl 1
timeout 120 $PY "$ELOG_TOP/tests/py/ps_flowctl_peer.py" "$SERVER" "$ELOG_TOP/proto" >/dev/null ||
	fail "the flowctl peer failed"
wait_for "idle-1 unhealthy" 30 sh -c \
	"\"$ELOG_BIN\" ps --json | grep -q '\"service_id\":\"idle-1\",\"type\":\"processor\",\"healthy\":false'"
elog ps | grep -q '^flowidle .* idle-1 processor unhealthy (heartbeat [0-9]*s ago)$' ||
	fail "flowidle row: $(elog ps | grep '^flowidle')"
stop_serve
fi

say "serve --auth: ps needs a key like every other call"
elog keys create ps --db "$T/auth.db" >"$T/ps.key" 2>/dev/null || fail "keys create"
start_serve auth --auth
elog send -c api --api-key-file "$T/ps.key" 'with a key' || fail "send with a key"
must_fail 1 "ps without a key" elog ps 2>"$T/auth.err"
grep -q "^elog: cannot list the components of server '$SERVER': .*api key" "$T/auth.err" ||
	fail "message: $(cat "$T/auth.err")"
elog ps --json --api-key-file "$T/ps.key" | grep -q '"component":"api","count":1,' ||
	fail "ps with a key: $(elog ps --json --api-key-file "$T/ps.key" 2>&1)"
stop_serve
