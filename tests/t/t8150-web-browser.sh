#!/bin/sh
# The web page (issue 18) in a real browser: Debian's chromium headless, driven by
# python3-selenium with chromium-driver (tests/py/web_browser.py), against `elog serve --http`
# on loopback. The driver prints "CASE ..." and "FAIL ..." lines; they become this script's
# cases. A screenshot is kept as an artifact next to the binary (BUILD/artifacts/web.png).
. "$(dirname "$0")/lib.sh"

say "chromium, chromium-driver and python3-selenium are installed (tools/deps.sh)"
for f in /usr/bin/chromium /usr/bin/chromedriver; do
	[ -x "$f" ] || fatal "$f is missing: run tools/deps.sh (packages chromium chromium-driver)"
done
$PY -c 'import selenium' 2>/dev/null || fatal "python3-selenium is missing: run tools/deps.sh"

SHOT=$(cd "$(dirname "$ELOG_BIN")" && pwd)/artifacts/web.png
rm -f "$SHOT"
timeout 150 $PY "$ELOG_TOP/tests/py/web_browser.py" "$ELOG_BIN" "$T" "$SHOT" >"$T/driver.out" 2>"$T/driver.err"
st=$?
while IFS= read -r line; do
	case $line in
	"CASE "*) say "${line#CASE }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	"# "*) echo "$line" ;;
	esac
done <"$T/driver.out"
if [ "$st" != 0 ]; then
	grep -q '^FAIL ' "$T/driver.out" || fail "the browser driver exited $st"
	echo "--- driver stderr (last lines)" >&2
	tail -30 "$T/driver.err" >&2
	for f in "$T"/web.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
fi
[ -s "$SHOT" ] && echo "# screenshot: $SHOT"
