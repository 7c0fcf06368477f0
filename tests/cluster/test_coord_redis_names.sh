#!/usr/bin/env bash
# test_coord_redis_names: global names and Redis trouble on a real
# redis-server with three real nodes (lease 1000 ms): a name registered on A
# is seen from B and C, a conflicting register is refused naming the owner,
# A's names go everywhere within one lease when A is killed, a restarted A
# registers again, and after Redis restarts empty everything comes back with
# a new epoch above the old one.
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000

nodes_start a b c

r=$(probe a register game.lobby)
check $([ "$r" = registered ]; echo $?) "register a name on a" "got '$r'"
owner_addr=$(probe a query game.lobby)
wait_probe b "$owner_addr" 1000 query game.lobby
check $? "b sees the name (a's address)" "b: '$(probe b query game.lobby)', a: '$owner_addr'"
wait_probe c "$owner_addr" 1000 query game.lobby
check $? "c sees the name" "c: '$(probe c query game.lobby)'"

r=$(probe b register game.lobby)
echo "$r" | grep -q 'refused.*held by node a' 
check $? "a conflicting register on b is refused, naming a" "got '$r'"

t_kill=$(date +%s%N)
node_signal a KILL
node_wait_exit a
wait_probe b "nil " $((LEASE + 500)) query game.lobby
gone_b=$?
wait_probe c "nil " 500 query game.lobby
gone_c=$?
took=$(( ($(date +%s%N) - t_kill) / 1000000 ))
check $((gone_b + gone_c)) "a killed: its name is gone on b and c within lease + heartbeat ($took ms)" \
	"b: '$(probe b query game.lobby)', c: '$(probe c query game.lobby)'"

node_start a || not_ok "node a restarts" "no probe start line"
r=$(probe a register game.lobby)
check $([ "$r" = registered ]; echo $?) "a restarted registers the name again" "got '$r'"
owner_addr=$(probe a query game.lobby)
wait_probe c "$owner_addr" 1000 query game.lobby
check $? "c sees the name of the restarted a" "c: '$(probe c query game.lobby)'"

# Redis restarted empty.
old=$(probe b master)
old_epoch=${old#* }
redis_kill
sleep 0.3
r=$(probe c query game.lobby)
check $([ "$r" = "$owner_addr" ]; echo $?) "with redis down, cached names still resolve" "got '$r'"
r=$(probe c register other.name)
echo "$r" | grep -q refused
check $? "with redis down, register fails with an error" "got '$r'"
redis_relaunch >/dev/null
wait_probe b "$owner_addr" 5000 query game.lobby
check $? "after redis restarts empty, the name is back on b" "b: '$(probe b query game.lobby)'"
for _ in $(seq 1 100); do
	key=$(redis-cli -p "$REDIS_PORT" GET skynode:name:game.lobby)
	[ -n "$key" ] && break
	sleep 0.05
done
check $([ -n "$key" ]; echo $?) "the name is re-announced in redis" "no key after 5 s"
wait_probe c "$owner_addr" 2000 query game.lobby
check $? "and resolves on c" "c: '$(probe c query game.lobby)'"
ok_master=1
for _ in $(seq 1 100); do
	m=$(probe b master)
	if [ -n "$m" ] && [ "$m" != nil ] && [ "${m#* }" -gt "$old_epoch" ] &&
		[ "$(probe a master)" = "$m" ] && [ "$(probe c master)" = "$m" ]; then
		ok_master=0
		break
	fi
	sleep 0.05
done
check $ok_master "after redis restarts empty, all agree on a master with an epoch above $old_epoch" \
	"a=[$(probe a master)] b=[$(probe b master)] c=[$(probe c master)]"
n=$(grep -c 'not available' "$CL_DIR/b.log")
check $(( n == 1 ? 0 : 1 )) "b logged the redis loss once" "$n lines"

cl_summary
