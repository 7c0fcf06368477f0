#!/bin/bash
# test_cluster_transport.sh: two skynode processes on loopback, node a
# calling node b through the cluster transport: calls and pushes by name and
# by address, payload sizes, 64 concurrent callers, garbage on raw sockets,
# b killed with SIGKILL mid-call, b restarted.  Prints ok/not ok lines.
. "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

PORT_A=$(free_port)
PORT_B=$(free_port)
cat >"$CT_DIR/cluster.conf" <<EOF2
a = "127.0.0.1:$PORT_A"
b = "127.0.0.1:$PORT_B"
EOF2

fail() { echo "not ok - $1"; CT_FAILED=$((CT_FAILED + 1)); }

start_b() {
	: >"$CT_DIR/b.log"
	ct_start b cluster_node_b
	ct_wait_log b '^READY b' 5000 || fail "node b started: no READY line"
}

# finish PHASE: tell node a the script is done with PHASE.
finish() { touch "$CT_DIR/$1.done"; }

start_b
ct_start a cluster_node_a

if ct_wait_log a '^PHASE garbage' 60000; then
	python3 "$CT_ROOT/tests/cluster/cluster_garbage.py" "$PORT_B" | tee "$CT_DIR/garbage.out"
	CT_FAILED=$((CT_FAILED + $(grep -c '^not ok' "$CT_DIR/garbage.out")))
	finish garbage
else
	fail "node a reached the garbage phase"
fi

if ct_wait_log a '^PHASE kill' 20000; then
	ct_kill b
	finish kill
else
	fail "node a reached the kill phase"
fi

if ct_wait_log a '^PHASE restart' 20000; then
	start_b
	finish restart
else
	fail "node a reached the restart phase"
fi

ct_wait_log a '^# done' 30000 || fail "node a finished (no '# done' line)"
ct_report a
[ "$CT_FAILED" -eq 0 ]
