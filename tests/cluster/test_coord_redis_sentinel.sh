#!/usr/bin/env bash
# test_coord_redis_sentinel: the Redis coordinator behind Redis Sentinel.
# Two nodes with coord_sentinels / coord_sentinel_master (a master, its
# replica, three sentinels) elect a master; the Redis master is SIGKILLed,
# the sentinels promote the replica, both nodes' drivers follow it and a
# master is agreed on again, with no two terms overlapping.
set -u
source "$(dirname "$0")/lib.sh"
cl_init
trap 'redis_ha_stop; cl_cleanup' EXIT
redis_ha_start m || { echo "not ok - redis master, replica and sentinels: could not start"; exit 1; }
# lib.sh writes coord_redis; with coord_sentinels set, nodes and skynode-ctl
# ask the sentinels instead.
REDIS_ADDR=ignored-with-sentinels
SENTINEL_CONFIG=("coord_sentinels = \"$REDIS_HA_SENTINELS\"" 'coord_sentinel_master = "m"')

# Both nodes' drivers logged a connection to 127.0.0.1:PORT.
both_connected_to() {
	wait_log a "redisdrv: connected to redis at 127.0.0.1:$1" "$2" &&
		wait_log b "redisdrv: connected to redis at 127.0.0.1:$1" "$2"
}

old_port=$(redis_ha_master_port)
for n in a b; do node_start $n "${SENTINEL_CONFIG[@]}" || not_ok "node $n starts" "no probe start line"; done
both_connected_to "$old_port" 3000
check $? "both drivers reach the Redis master through the sentinels" "no 'connected to redis at 127.0.0.1:$old_port' in both logs"
m=$(wait_agreed 5000 a b)
check $? "the two nodes elect one master and agree on it ($m)" "a=[$(probe a master)] b=[$(probe b master)]"

t_kill=$(date +%s%N)
redis_ha_kill "$old_port"
new_port=
for _ in $(seq 1 300); do
	new_port=$(redis_ha_master_port)
	[ -n "$new_port" ] && [ "$new_port" != "$old_port" ] && break
	sleep 0.05
done
check $([ -n "$new_port" ] && [ "$new_port" != "$old_port" ]; echo $?) \
	"the sentinels promote the replica" "still $old_port after 15 s"
both_connected_to "$new_port" 10000
check $? "both drivers follow the new Redis master" "no 'connected to redis at 127.0.0.1:$new_port' in both logs"
m=$(wait_agreed 10000 a b)
check $? "a master is agreed on again after the fail-over ($m, $(( ($(date +%s%N) - t_kill) / 1000000 )) ms after the kill)" \
	"a=[$(probe a master)] b=[$(probe b master)]"
CTL=${SKYNODE_CTL:-$(dirname "$SKYNODE")/skynode-ctl}
[ -x "$CTL" ] || CTL=$CL_ROOT/skynode-ctl
out=$(timeout 10 "$CTL" -c "$CL_DIR/a.conf" status 2>&1)
echo "$out" | grep -qE "redis 127\.0\.0\.1:$new_port" && echo "$out" | grep -qE "^master +${m%% *} "
check $? "skynode-ctl -c finds the new Redis master through the sentinels" "$out"
terms_disjoint
check $? "no two master terms overlap and epochs increase (all COORD TERM lines)" "$(terms | tr '\n' ';')"

cl_summary
