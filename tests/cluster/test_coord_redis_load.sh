#!/usr/bin/env bash
# test_coord_redis_load: an idle node's heartbeat costs Redis the same
# whatever the number of names it holds.  Node a registers 2000 names (lease
# 1000 ms, two nodes); over 3 s of idle the commands Redis executes (INFO
# stats total_commands_processed, which counts the commands scripts run too)
# and the bytes it receives stay below a bound per heartbeat that does not
# depend on the names; the figures are printed.  Then the names still resolve
# from b; they are dropped while a is paused longer than the lease and come
# back when it resumes; they come back after Redis restarts empty; and when a
# is killed all 2000 go within one lease + one heartbeat.
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000
NAMES=2000
IDLE_S=3
MAX_COMMANDS_PER_BEAT=50
MAX_BYTES_PER_BEAT=8000

stat() {
	redis-cli -p "$REDIS_PORT" INFO stats | tr -d '\r' | grep "^$1:" | cut -d: -f2
}

nodes_start a b

for i in $(seq 1 $NAMES); do echo "load$i register load.name.$i"; done >>"$CL_DIR/a.cmd"
for _ in $(seq 1 1000); do
	done_count=$(grep -cE '^PROBE node=a id=load[0-9]+ ' "$CL_DIR/a.log")
	[ "$done_count" -ge $NAMES ] && break
	sleep 0.01
done
registered=$(grep -cE '^PROBE node=a id=load[0-9]+ registered$' "$CL_DIR/a.log")
check $([ "$registered" = $NAMES ]; echo $?) "a registers $NAMES names" "$registered registered"
in_redis=$(redis-cli -p "$REDIS_PORT" SCARD skynode:names)
check $([ "$in_redis" = $NAMES ]; echo $?) "redis indexes the $NAMES names" "SCARD skynode:names = $in_redis"

sleep 0.5
commands0=$(stat total_commands_processed)
bytes0=$(stat total_net_input_bytes)
sleep $IDLE_S
commands=$(( $(stat total_commands_processed) - commands0 ))
bytes=$(( $(stat total_net_input_bytes) - bytes0 ))
beat_ms=$(( LEASE / 6 > 50 ? LEASE / 6 : 50 ))
beats=$(( IDLE_S * 1000 / beat_ms * 2 ))   # two nodes
echo "# idle ${IDLE_S} s, 2 nodes, $NAMES names: $commands redis commands ($((commands / IDLE_S))/s," \
	"$((commands / beats)) per heartbeat), $bytes bytes in ($((bytes / IDLE_S)) B/s, $((bytes / beats)) per heartbeat)"
check $(( commands < beats * MAX_COMMANDS_PER_BEAT ? 0 : 1 )) \
	"idle redis commands stay below $MAX_COMMANDS_PER_BEAT per heartbeat" "$commands in $beats heartbeats"
check $(( bytes < beats * MAX_BYTES_PER_BEAT ? 0 : 1 )) \
	"idle bytes sent to redis stay below $MAX_BYTES_PER_BEAT per heartbeat" "$bytes in $beats heartbeats"

owner_addr=$(probe a query load.name.1)
r=$(probe b query load.name.$NAMES)
check $([ "${r%% *}" = a ]; echo $?) "after the idle time the names still resolve from b" "got '$r'"
r=$(probe b register load.name.7)
echo "$r" | grep -q 'refused.*held by node a'
check $? "and a register of one of them on b is refused, naming a" "got '$r'"

# wait_count N MS: 0 once redis indexes N names, within MS.
wait_count() {
	local i
	for i in $(seq 1 $(($2 / 50))); do
		[ "$(redis-cli -p "$REDIS_PORT" SCARD skynode:names)" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

node_signal a STOP
wait_probe b "nil " $((LEASE + 1000)) query load.name.1
check $? "a paused longer than the lease: b drops its names" "b: '$(probe b query load.name.1)'"
wait_count 0 1000
check $? "and they are dropped in redis" "SCARD skynode:names = $(redis-cli -p "$REDIS_PORT" SCARD skynode:names)"
node_signal a CONT
wait_probe b "$owner_addr" 3000 query load.name.1
check $? "a resumed: b sees its names again" "b: '$(probe b query load.name.1)'"
wait_count $NAMES 2000
check $? "a resumed: it re-announced all $NAMES names" \
	"SCARD skynode:names = $(redis-cli -p "$REDIS_PORT" SCARD skynode:names)"

redis_kill
redis_relaunch >/dev/null
wait_count $NAMES 5000
check $? "redis restarted empty: all $NAMES names are re-announced" \
	"SCARD skynode:names = $(redis-cli -p "$REDIS_PORT" SCARD skynode:names)"
wait_probe b "$owner_addr" 3000 query load.name.$NAMES
check $? "and resolve from b" "b: '$(probe b query load.name.$NAMES)'"

t_kill=$(date +%s%N)
node_signal a KILL
node_wait_exit a
wait_probe b "nil " $((LEASE + 500)) query load.name.1
gone=$?
took=$(( ($(date +%s%N) - t_kill) / 1000000 ))
check $gone "a killed: its names are gone on b within lease + heartbeat ($took ms)" \
	"b: '$(probe b query load.name.1)' (a had '$owner_addr')"
left=$(redis-cli -p "$REDIS_PORT" SCARD skynode:names)
check $([ "$left" = 0 ]; echo $?) "and none of them is left in redis" "SCARD skynode:names = $left"

cl_summary
