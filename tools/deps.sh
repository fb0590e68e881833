#!/bin/sh
# Install the Debian packages elog needs to build and test, only the missing ones.
# `deps.sh bench` also installs what the benchmarks compare against (bench/): rsyslog, whose
# rsyslogd (imptcp -> omfile) is the ingest reference of bench/history.sh.
set -e
# Installed with --no-install-recommends, so every package a step uses is named here, even
# where another package only recommends it: libprotobuf-dev holds the well-known .proto files
# (google/protobuf/timestamp.proto) that protobuf-compiler only recommends; bsdextrautils has
# col(1), which t7000-docs uses to read a rendered man page; python3 runs the peers.
PKGS="gcc make pkg-config libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev
libyajl-dev zlib1g-dev libssl-dev openssl sqlite3 python3 python3-grpcio python3-protobuf
protobuf-compiler libprotobuf-dev protobuf-compiler-grpc groff-base bsdextrautils bc clang
libclang-rt-dev libhiredis-dev redis-server libpcre2-dev libvectorscan-dev
libnats-dev nats-server libwebsockets-dev python3-websockets curl libzstd-dev"
# node and npm run the OpenTelemetry SDK peers (tests/js); a node from elsewhere (NodeSource's
# package provides npm and conflicts with Debian's) is used as it is.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
# the web page's browser test (t8150) and bench/web_follow.sh: headless chromium and selenium
PKGS="$PKGS chromium chromium-driver python3-selenium"
[ "${1:-}" = bench ] && PKGS="$PKGS rsyslog"
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# The OpenTelemetry JavaScript SDK peers of the OTLP tests (tests/js, pinned by its lock file).
js_peers() {
	top=$(cd "$(dirname "$0")/.." && pwd)
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
	   [ -f "$top/tests/js/package-lock.json" ] &&
	   { [ ! -f "$top/tests/js/node_modules/.package-lock.json" ] ||
	     [ "$top/tests/js/package-lock.json" -nt "$top/tests/js/node_modules/.package-lock.json" ]; }; then
		(cd "$top/tests/js" && npm ci --no-audit --no-fund --loglevel=error) ||
			echo "elog: warning: 'npm ci' in tests/js failed (above): the tests whose peers" \
			     "are npm packages (the OpenTelemetry JS SDK, grpc-js, nats) will be" \
			     "reported as skipped" >&2
	fi
	return 0
}
[ -z "$missing" ] && { js_peers; exit 0; }
echo "elog: installing missing packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
js_peers
