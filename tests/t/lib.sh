# lib.sh — shared helpers for the shell tests (git's t/test-lib.sh in small).
# Each test script: `. "$(dirname "$0")/lib.sh"`, then uses these; temporary files live in $T,
# removed at exit.
#
# Cases: `say DESC` opens a case (the lines up to the next `say` are its checks). `fail MSG`
# marks the open case failed and the script goes on with the next check, so one failing case
# does not hide the others; `fatal MSG` also stops the script (for a failure that leaves
# nothing to test, such as serve not starting). At exit every case is reported as
# "ok N - DESC" or "not ok N - DESC" and the last line counts them: "N passed, N failed".
# Failures are kept in a file, so a `fail` inside a subshell or a pipeline counts too. A
# script that exits non-zero by itself fails the case it was in.
set -u
: "${ELOG_BIN:?ELOG_BIN must point at the elog binary (tests/run.sh sets it)}"
: "${ELOG_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
T=$(mktemp -d /tmp/elog-t.XXXXXX)
SERVE_PIDS=""
BG_PIDS=""         # other background processes a test starts (killed at exit)
export XDG_STATE_HOME="$T/state" HOME="$T/home" NO_COLOR= ELOG_DB= ELOG_SERVER= ELOG_API_KEY=
mkdir -p "$HOME"
CASE_N=0
CASE_DESC="setup"
: >"$T/.cases"
: >"$T/.failed"

# report_cases STATUS: prints each case's verdict and the totals; returns the script's status.
report_cases() {
	st=$1
	if [ -n "${SKIPPED:-}" ]; then
		echo "0 passed, 0 failed"
		return 0
	fi
	[ "$st" != 0 ] && ! grep -qx "$CASE_N" "$T/.failed" && echo "$CASE_N" >>"$T/.failed"
	# a script that reached no `say` is one case
	[ -s "$T/.cases" ] || printf '0	%s
' "$CASE_DESC" >"$T/.cases"
	pass=0 nfail=0
	while IFS="$(printf '	')" read -r n d; do
		if grep -qx "$n" "$T/.failed"; then
			echo "not ok $n - $d"; nfail=$((nfail + 1))
		else
			echo "ok $n - $d"; pass=$((pass + 1))
		fi
	done <"$T/.cases"
	# a failure before the first case (setup) counts as a case of its own
	if grep -qx 0 "$T/.failed" && ! grep -q "^0	" "$T/.cases"; then
		echo "not ok 0 - setup"; nfail=$((nfail + 1))
	fi
	echo "$pass passed, $nfail failed"
	[ "$nfail" = 0 ]
}

cleanup() {
	st=$?
	# a background shell function (elog ... &) is a subshell whose child is the program:
	# both go
	for p in $BG_PIDS $SERVE_PIDS; do pkill -9 -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	report_cases "$st"; st=$?
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT

elog() { "$ELOG_BIN" "$@"; }

fail() {
	echo "FAIL: $*" >&2
	echo "$CASE_N" >>"$T/.failed"
	return 1
}
# skip_test REASON: the script cannot run here for a reason outside elog (a peer from another
# implementation that could not be installed). It prints "# SKIP REASON" and counts no case;
# tests/run.sh lists every skipped script with its reason at the end, so no skip is silent.
skip_test() {
	echo "# SKIP $*"
	SKIPPED=1
	exit 0
}

fatal() {
	echo "FAIL: $*" >&2
	echo "$CASE_N" >>"$T/.failed"
	exit 1
}
say() {
	CASE_N=$((CASE_N + 1)); CASE_DESC=$*
	printf '%s\t%s\n' "$CASE_N" "$*" >>"$T/.cases"
	echo "# $*"
}

# expect_success DESC CMD...: runs CMD, fails the test when it exits non-zero.
expect_success() {
	desc=$1; shift
	"$@" || fail "$desc (exit $?)"
}

# must_fail STATUS DESC CMD...: CMD must exit with STATUS.
must_fail() {
	want=$1; desc=$2; shift 2
	"$@"; got=$?
	[ "$got" = "$want" ] || fail "$desc: exit $got, expected $want"
}

# test_cmp EXPECTED ACTUAL: files must be equal.
test_cmp() {
	diff -u "$1" "$2" || fail "files differ: $1 $2"
}

# wait_for DESC SECONDS CMD...: retries CMD every 0.1 s until it succeeds.
wait_for() {
	desc=$1; secs=$2; shift 2
	i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge $((secs * 10)) ] && { fail "timed out waiting for $desc"; return 1; }
		sleep 0.1
	done
}

# history_count DB / history_last_id DB: the records a history file holds, and its largest
# id, read through `elog ps --disk --db` (so records however they are stored count; 0 when the
# file cannot be read yet). Tests count through these, not with sqlite3 on a table.
history_disk_field() {
	"$ELOG_BIN" ps --disk --db "$1" --json 2>/dev/null |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | grep . || echo 0
}
history_count() { history_disk_field "$1" records; }
history_last_id() { history_disk_field "$1" last_id; }

# start_serve NAME [ARGS...]: starts serve on a free loopback port with history $T/NAME.db;
# sets SERVE_PID and SERVER (host:port). Its stderr goes to $T/NAME.err.
start_serve() {
	name=$1; shift
	rm -f "$T/$name.ready"
	# no web listener unless the test asks for one (--http, or SERVE_WEB_DEFAULT=1 for the
	# default address): the default port 8765 is shared by every test running at once, and
	# the one that got it would behave differently from the others
	case " $* " in
	*" --http "*|*" --http="*) web= ;;
	*) [ "${SERVE_WEB_DEFAULT:-}" = 1 ] && web= || web="--http none" ;;
	esac
	"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/$name.db" --ready-file "$T/$name.ready" \
		$web "$@" 2>"$T/$name.err" &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve ready" 30 test -s "$T/$name.ready" ||
		fatal "serve did not start: $(cat "$T/$name.err")"
	SERVER=$(head -1 "$T/$name.ready")
	export ELOG_SERVER="$SERVER"
}

# stop_serve [PID]: SIGTERM, and serve must exit 0 within 15 s.
stop_serve() {
	pid=${1:-$SERVE_PID}
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge 150 ] && { fail "serve $pid did not stop"; return 1; }
		sleep 0.1
	done
	wait "$pid"; st=$?
	[ "$st" = 0 ] || fail "serve exited $st"
}

PY=/usr/bin/python3
# py_stubs DIR: generates python stubs for every proto into DIR.
py_stubs() {
	mkdir -p "$1"
	protoc -I "$ELOG_TOP/proto" -I /usr/include --python_out="$1" --grpc_out="$1" \
		--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin "$ELOG_TOP"/proto/*.proto
}
