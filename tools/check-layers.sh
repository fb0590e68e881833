#!/bin/sh
# check-layers.sh — each folder of src/ is a layer and includes only the layers it may use
# (src/README.md). Prints every include that crosses the line and fails if there is one.
# A new layer is a new line in the table below.
cd "$(dirname "$0")/.." || exit 2
bad=0
while read -r layer allowed; do
	[ -d "src/$layer" ] || continue
	for f in src/"$layer"/*.[ch]; do
		[ -f "$f" ] || continue
		# generated protobuf-c headers ("opentelemetry/proto/.../x.pb-c.h") are no layer
		grep -n '^#include "[a-z_]*/' "$f" | grep -v '\.pb-c\.h"' | while IFS= read -r line; do
			dep=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([a-z_]*\)\/.*/\1/')
			case " $layer $allowed " in
			*" $dep "*) ;;
			*) echo "$f: ${line#*:} — layer '$layer' may not include '$dep' (allowed: $allowed)"
			   echo x >&3 ;;
			esac
		done
	done
done 3>"${TMPDIR:-/tmp}/check-layers.$$" <<'TABLE'
common
store common
rpc common
hub common store
client common rpc
view common
server common store hub rpc view
web common store hub server view
outbound common store hub rpc client view
TABLE
[ -s "${TMPDIR:-/tmp}/check-layers.$$" ] && bad=1
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
exit $bad
