#!/bin/sh
# The web page following RATE (default 5000) records/s for WEB_FOLLOW_SECS (default 60) seconds
# in headless chromium (issue 18): serve's CPU with the page following next to the same load
# with nobody watching, the page's frame times next to the idle page's, records shown vs sent.
# Usage: bench/web_follow.sh [ELOG] (default ./elog, the optimized build). Loopback only.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${1:-${ELOG:-$top/elog}}
B=$(mktemp -d /tmp/elog-bench-web.XXXXXX)
trap 'rm -rf "$B"' EXIT
export XDG_STATE_HOME="$B/state" HOME="$B/home" ELOG_SERVER= ELOG_DB= ELOG_API_KEY=
mkdir -p "$HOME"
/usr/bin/python3 "$top/bench/web_follow.py" "$ELOG" "$B"
