#!/bin/sh
# t7100-man-examples: every EXAMPLES command of every command's man page runs, as printed,
# against a real serve and succeeds (jq does this with its manual). The examples rely on
# $ELOG_SERVER (start_serve exports it) and run in a scratch directory whose history.db is the
# serve's history ($ELOG_DB points there too), with a Makefile (all: prints two lines) and an
# app.log (one line) for the examples to use. Pages are taken in the order of the command
# table, examples in page order, so keys made by one example exist for the next.
# How an example is run:
#   elog serve ...      started in its own directory (on 127.0.0.1:0 unless it names
#                       --listen); it must come up, then exit 0 on SIGTERM
#   followers           (elog logs -f, elog tail FILE...) must still be running after 3 s
#   everything else     must exit 0 within 30 s
# elog.1's examples must be among the commands' examples (it shows the first of each).
. "$(dirname "$0")/lib.sh"
# the man page and completion generator, a build tool next to the binary (tools/gendoc.c)
GENDOC=$(dirname "$ELOG_BIN")/gendoc
[ -x "$GENDOC" ] || fatal "no generator at '$GENDOC' (make builds it with elog)"

bin="$T/bin"; mkdir -p "$bin"; ln -s "$ELOG_BIN" "$bin/elog"
PATH="$bin:$PATH"; export PATH
ex="$T/ex"; mkdir -p "$ex"
start_serve ex/history
export ELOG_DB="$ex/history.db"
# what a build example runs
printf 'all:\n\t@echo compiling\n\t@echo linking\n' >"$ex/Makefile"
# what a file example follows
echo 'app started' >"$ex/app.log"
elog send -c deploy 'release 1.3 started' || fail "seed"

# examples PAGE: the commands between .EX and .EE, unescaped, one a line
examples() {
	sed -n '/^\.EX$/,/^\.EE$/p' "$1" | grep -v '^\.E[XE]$' |
		sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(ga/`/g' -e 's/\\(ti/~/g' \
			-e 's/\\(ha/^/g' -e 's/\\&//g' -e 's/\\%//g' -e 's/\\e/\\/g'
}

n=0
: >"$T/all"
for c in $("$GENDOC" commands); do
	page="$ELOG_TOP/man/elog-$c.1"
	[ -f "$page" ] || fail "no man page for $c"
	examples "$page" >"$T/ex-$c"
	[ -s "$T/ex-$c" ] || fail "elog-$c.1 has no EXAMPLES"
	cat "$T/ex-$c" >>"$T/all"
	while IFS= read -r cmd; do
		n=$((n + 1))
		printf '# elog-%s.1: %s\n' "$c" "$cmd"
		case $cmd in
		"elog serve"*)
			d="$T/serve-ex$n"; mkdir -p "$d"
			extra=
			case $cmd in *--listen*) ;; *) extra=" --listen 127.0.0.1:0" ;; esac
			# not on $ELOG_DB: that history is the running serve's, and one history
			# takes one serve
			(cd "$d" && exec env -u ELOG_DB XDG_STATE_HOME="$d/state" sh -c "exec $cmd$extra") \
				2>"$d/err" &
			pid=$!; SERVE_PIDS="$SERVE_PIDS $pid"
			wait_for "example serve up" 30 grep -q 'listening on' "$d/err"
			case $cmd in *--ready-file*)
				f=$(echo "$cmd" | sed 's/.*--ready-file \([^ ]*\).*/\1/')
				wait_for "its ready file" 10 test -s "$d/$f" ;;
			esac
			stop_serve "$pid"
			;;
		*" -- "*)
			# wraps a command: ends with it
			(cd "$ex" && timeout 30 sh -c "$cmd") >"$T/out" 2>"$T/err" </dev/null ||
				{ st=$?; cat "$T/err"; fail "example failed (exit $st): $cmd"; }
			;;
		"elog tail "*|"elog logs "*" -f"*|"elog logs "*--follow*)
			(cd "$ex" && timeout 3 sh -c "$cmd") >"$T/out" 2>"$T/err" </dev/null; st=$?
			[ "$st" = 124 ] || { cat "$T/err"; fail "follower example ended (exit $st): $cmd"; }
			;;
		*)
			(cd "$ex" && timeout 30 sh -c "$cmd") >"$T/out" 2>"$T/err" </dev/null ||
				{ st=$?; cat "$T/err"; fail "example failed (exit $st): $cmd"; }
			;;
		esac
	done <"$T/ex-$c"
done
[ "$n" -gt 0 ] || fail "no examples ran"

say "the examples did what they say"
elog logs -c deploy -l info+ >"$T/out" || fail "logs"
grep -q 'release 1.4 started' "$T/out" || fail "send example record missing"
elog logs -c disk --json >"$T/out" || fail "logs disk"
grep -q '"level":"warn"' "$T/out" && grep -q 'disk 91% full' "$T/out" ||
	fail "JSON example record wrong: $(cat "$T/out")"

say "elog.1 shows examples of the commands' pages"
examples "$ELOG_TOP/man/elog.1" | while IFS= read -r cmd; do
	grep -qxF -- "$cmd" "$T/all" || fail "elog.1 example is on no command page: $cmd"
done || exit 1
stop_serve
say "ok"
