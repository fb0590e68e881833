# tests/nats/cluster.sh — a 3-node nats-server cluster with JetStream on 127.0.0.1 for the
# shell tests (sourced after lib.sh). Each node has its own store directory under $T/nats/nK,
# its own client, route and monitoring ports (free ones, chosen at start), and routes to the
# other two. Readiness is polled on the monitoring port (/healthz), never slept for.
#
#   nats_cluster_start         start n1 n2 n3; sets NATS_URLS (comma list) and NATS_MON1..3
#   nats_node_start K          (re)start node K with its store and ports; waits until healthy
#   nats_node_kill K           kill -9 node K
#   nats_node_stop K           SIGTERM node K (lame duck: no) and wait for it to exit
#   nats_stream_leader STREAM  prints K, the node that leads STREAM now (from /jsz)
#   nats_wait_stream STREAM S  waits up to S seconds until STREAM has a leader and current peers
#
# The nodes are killed at exit with the test's other background processes (BG_PIDS).

NATS_SERVER=${NATS_SERVER:-nats-server}
NATS_DIR="$T/nats"

nats_have_server() { command -v "$NATS_SERVER" >/dev/null 2>&1; }

# 9 free loopback ports: client, route and monitor of each node
nats_pick_ports() {
	$PY - <<'PYEOF'
import socket
ss = []
for i in range(9):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()
PYEOF
}

nats_cluster_start() {
	mkdir -p "$NATS_DIR"
	set -- $(nats_pick_ports)
	NATS_C1=$1 NATS_C2=$2 NATS_C3=$3 NATS_R1=$4 NATS_R2=$5 NATS_R3=$6
	NATS_MON1=$7 NATS_MON2=$8 NATS_MON3=$9
	NATS_URLS="nats://127.0.0.1:$NATS_C1,nats://127.0.0.1:$NATS_C2,nats://127.0.0.1:$NATS_C3"
	export NATS_URLS
	for k in 1 2 3; do nats_node_launch "$k"; done
	for k in 1 2 3; do nats_node_wait "$k" || return 1; done
}

nats_port() { eval "echo \$NATS_$1$2"; }

nats_node_launch() {
	k=$1
	mkdir -p "$NATS_DIR/n$k"
	routes=""
	for j in 1 2 3; do
		[ "$j" = "$k" ] && continue
		routes="$routes${routes:+,}nats://127.0.0.1:$(nats_port R "$j")"
	done
	"$NATS_SERVER" -a 127.0.0.1 -p "$(nats_port C "$k")" -m "$(nats_port MON "$k")" \
		-n "n$k" --js -sd "$NATS_DIR/n$k" --cluster_name elogtest \
		--cluster "nats://127.0.0.1:$(nats_port R "$k")" --routes "$routes" \
		>>"$NATS_DIR/n$k.log" 2>&1 &
	eval "NATS_PID$k=$!"
	BG_PIDS="$BG_PIDS $!"
}

# healthy: the monitoring port answers /healthz with ok (JetStream up, meta leader known)
nats_node_healthy() {
	curl -sf "http://127.0.0.1:$(nats_port MON "$1")/healthz" 2>/dev/null | grep -q '"ok"'
}

nats_node_wait() {
	wait_for "nats node n$1 healthy" 60 nats_node_healthy "$1" ||
		{ tail -20 "$NATS_DIR/n$1.log" >&2; return 1; }
}

nats_node_start() { nats_node_launch "$1"; nats_node_wait "$1"; }

nats_node_kill() {
	pid=$(eval "echo \$NATS_PID$1")
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

nats_node_stop() {
	pid=$(eval "echo \$NATS_PID$1")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# /jsz of node K with stream details, as JSON on stdout
nats_jsz() {
	curl -sf "http://127.0.0.1:$(nats_port MON "$1")/jsz?streams=true" 2>/dev/null
}

# nats_stream_leader STREAM: the node (1..3) leading STREAM, asked of every live node
nats_stream_leader() {
	for k in 1 2 3; do
		nats_jsz "$k" | $PY -c '
import json, sys
d = json.load(sys.stdin)
for a in d.get("account_details") or []:
    for s in a.get("stream_detail") or []:
        if s.get("name") == sys.argv[1]:
            l = (s.get("cluster") or {}).get("leader") or ""
            if l:
                print(l[1:]); sys.exit(0)
sys.exit(1)' "$1" && return 0
	done
	return 1
}

# nats_stream_msgs STREAM: the number of messages the stream holds (from its leader)
nats_stream_msgs() {
	l=$(nats_stream_leader "$1") || return 1
	nats_jsz "$l" | $PY -c '
import json, sys
d = json.load(sys.stdin)
for a in d.get("account_details") or []:
    for s in a.get("stream_detail") or []:
        if s.get("name") == sys.argv[1]:
            print(s["state"]["messages"]); sys.exit(0)
sys.exit(1)' "$1"
}
