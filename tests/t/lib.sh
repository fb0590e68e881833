# lib.sh — shared helpers for the shell tests (git's t/test-lib.sh in small).
# Each test script: `. "$(dirname "$0")/lib.sh"`, then uses these. A test fails at the
# first failed check (set -e style via `fail`); temporary files live in $T, removed at exit.
set -u
: "${ELOG_BIN:?ELOG_BIN must point at the elog binary (tests/run.sh sets it)}"
: "${ELOG_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
T=$(mktemp -d /tmp/elog-t.XXXXXX)
SERVE_PIDS=""
BG_PIDS=""         # other background processes a test starts (killed at exit)
export XDG_STATE_HOME="$T/state" HOME="$T/home" NO_COLOR= ELOG_DB= ELOG_SERVER= ELOG_API_KEY=
mkdir -p "$HOME"

cleanup() {
	for p in $BG_PIDS $SERVE_PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

elog() { "$ELOG_BIN" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "# $*"; }

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
		[ $i -ge $((secs * 10)) ] && fail "timed out waiting for $desc"
		sleep 0.1
	done
}

# start_serve NAME [ARGS...]: starts serve on a free loopback port with history $T/NAME.db;
# sets SERVE_PID and SERVER (host:port). Its stderr goes to $T/NAME.err.
start_serve() {
	name=$1; shift
	rm -f "$T/$name.ready"
	"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/$name.db" --ready-file "$T/$name.ready" "$@" \
		2>"$T/$name.err" &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve ready" 30 test -s "$T/$name.ready"
	SERVER=$(head -1 "$T/$name.ready")
	export ELOG_SERVER="$SERVER"
}

# stop_serve [PID]: SIGTERM, and serve must exit 0 within 15 s.
stop_serve() {
	pid=${1:-$SERVE_PID}
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge 150 ] && fail "serve $pid did not stop"
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
