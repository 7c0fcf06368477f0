#!/usr/bin/env bash
# test_coord_redis_cluster: the cluster transport finding nodes through the
# Redis coordinator's membership, with no static cluster config: three nodes
# open their cluster port by node name (cluster_address), a calls b by node
# name, coord.call / coord.send reach a name owned on another node, b killed
# is refused at once once the others see it down, and b restarted on another
# port is reached by a's next call.
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000

nodes_start a b c
for n in a b c; do
	r=$(probe $n open)
	check $([ "$r" = $n ]; echo $?) "node $n opens its cluster port by node name" "got '$r'"
done
grep -q '^cluster *=' "$CL_DIR/a.conf"
check $([ $? -ne 0 ]; echo $?) "the nodes have no static cluster config" "a.conf names a cluster file"

wait_probe a "a,b,c" 2000 nodes
check $? "a knows the three nodes" "a: '$(probe a nodes)'"
r=$(probe a who b)
check $([ "$r" = b ]; echo $?) "a calls b by node name (cluster.call(\"b\", \".probe\", ...))" "got '$r'"
r=$(probe c who a)
check $([ "$r" = a ]; echo $?) "c calls a by node name" "got '$r'"

r=$(probe b hold game.room)
check $([ "${r%% *}" = held ]; echo $?) "b holds the global name game.room" "got '$r'"
wait_probe a "b ${r#held }" 1000 query game.room
check $? "a sees game.room on b" "a: '$(probe a query game.room)'"
r=$(probe a where game.room)
check $([ "$r" = b ]; echo $?) "coord.call from a reaches the holder on b" "got '$r'"
for _ in 1 2 3; do probe c send game.room >/dev/null; done
wait_probe a 3 1000 count game.room
check $? "coord.send from c reaches the holder on b, three times" "count: '$(probe a count game.room)'"

# b killed: once a sees it down, a call to b fails at once.
old_addr=$(probe a addr b)
node_signal b KILL
node_wait_exit b
wait_probe a "a,c" $((LEASE + 1000)) nodes
check $? "a sees b down within lease + heartbeat" "a: '$(probe a nodes)'"
start=$(date +%s%N)
r=$(probe a who b)
took=$(( ($(date +%s%N) - start) / 1000000 ))
check $([ "${r%% *}" = error ] && [ $took -lt 1500 ]; echo $?) \
	"a call to b while b is down fails at once ($took ms)" "got '$r' after $took ms"

# b restarted on another port.
new_port=$(free_port)
node_start b "cluster_address = \"127.0.0.1:$new_port\"" || not_ok "node b restarts" "no probe start line"
r=$(probe b open)
check $([ "$r" = b ]; echo $?) "b restarted opens its new port" "got '$r'"
wait_probe a "127.0.0.1:$new_port" 2000 addr b
check $? "a learns b's new address (was $old_addr)" "a: '$(probe a addr b)'"
r=$(probe a who b)
check $([ "$r" = b ]; echo $?) "a's next call reaches b on its new port" "got '$r'"
r=$(probe c who b)
check $([ "$r" = b ]; echo $?) "c reaches b on its new port too" "got '$r'"

cl_summary
