#!/usr/bin/env bash
# test_ctl: skynode-ctl against a live three-node cluster on a private
# redis-server (lease 1000 ms): status, nodes, names (all and a glob), --json
# (one object per line, checked with grep), -c reading a node's config, a
# unix socket address, watch, resign handing the master role over cleanly,
# and an unreachable Redis giving exit status 2 with a clear message.
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
CTL=${SKYNODE_CTL:-$(dirname "$SKYNODE")/skynode-ctl}
[ -x "$CTL" ] || CTL=$CL_ROOT/skynode-ctl

ctl() { timeout 10 "$CTL" --redis "$REDIS_ADDR" "$@"; }

# The master as node a sees it, once there is one: "node epoch".
wait_master() {
	local m i
	for i in $(seq 1 150); do
		m=$(probe a master)
		[ -n "$m" ] && [ "$m" != nil ] && [ "$m" != "${1:-}" ] && { echo "$m"; return 0; }
		sleep 0.02
	done
	return 1
}

nodes_start a b c
m=$(wait_master)
check $? "the cluster has a master" "none after 3 s"
master=${m% *}; epoch=${m#* }
probe a register game.lobby >/dev/null
probe b register game.shop >/dev/null
probe c register chat.world >/dev/null
wait_probe a "c $(probe c query chat.world | cut -d' ' -f2)" 2000 query chat.world

out=$(ctl status)
check $? "status exits 0" "$out"
echo "$out" | grep -qE "^master +$master +epoch $epoch +lease left [0-9]+ ms$"
check $? "status names the master, its epoch and the lease left" "$out"
echo "$out" | grep -qE "^nodes +3$" && echo "$out" | grep -qE "^names +3$"
check $? "status counts 3 nodes and 3 names" "$out"
for n in a b c; do
	addr=$(grep -oE '^cluster_address = "[^"]+"' "$CL_DIR/$n.conf" | cut -d'"' -f2)
	echo "$out" | grep -qE "^$n +$addr +[0-9.]+ s"
	check $? "status lists node $n with its address and age" "$out"
done

out=$(ctl nodes)
rows=$(echo "$out" | grep -cE '^[abc] ')
master_row=$(echo "$out" | grep -E "^$master " | grep -c 'master$')
check $(( rows == 3 && master_row == 1 ? 0 : 1 )) "nodes lists a, b, c and marks the master" "$out"

out=$(ctl names)
echo "$out" | grep -qE '^game\.lobby +:[0-9a-f]{8} +a$' &&
	echo "$out" | grep -qE '^game\.shop +:[0-9a-f]{8} +b$' &&
	echo "$out" | grep -qE '^chat\.world +:[0-9a-f]{8} +c$'
check $? "names lists every name with its address and node" "$out"
out=$(ctl names 'game.*')
check $([ "$(echo "$out" | grep -c '^game\.')" = 2 ] && ! echo "$out" | grep -q chat; echo $?) \
	"names 'game.*' lists only the matching names" "$out"

out=$(ctl --json status)
echo "$out" | grep -qE "^\{\"prefix\":\"skynode\",\"master\":\"$master\",\"epoch\":$epoch,\"lease_left_ms\":[0-9]+,.*\"names\":3,\"nodes\":\[.*\]\}$"
check $? "status --json: one object with master, epoch, lease, names" "$out"
check $([ "$(echo "$out" | grep -oE '"node":"[abc]","address":"127\.0\.0\.1:[0-9]+","age_ms":[0-9]+' | wc -l)" = 3 ]; echo $?) \
	"status --json: every node with address and age" "$out"
out=$(ctl --json names)
check $([ "$(echo "$out" | grep -cE '^\{"name":"[a-z.]+","node":"[abc]","address":":[0-9a-f]{8}"\}$')" = 3 ]; echo $?) \
	"names --json: one object per name" "$out"
out=$(ctl --json nodes)
check $([ "$(echo "$out" | grep -c "\"master\":true")" = 1 ] && [ "$(echo "$out" | wc -l)" = 3 ]; echo $?) \
	"nodes --json: one object per node, one master" "$out"

out=$(timeout 10 "$CTL" -c "$CL_DIR/b.conf" status 2>&1)
echo "$out" | grep -qE "^master +$master +epoch $epoch"
check $? "-c reads coord_redis from a node's config" "$out"
out=$(timeout 10 "$CTL" --redis "$REDIS_SOCK" status 2>&1)
echo "$out" | grep -qE "^master +$master "
check $? "--redis accepts a unix socket path" "$out"
out=$(timeout 10 "$CTL" --redis "$REDIS_ADDR" --prefix other status 2>&1)
echo "$out" | grep -qE "^master +none" && echo "$out" | grep -qE "^nodes +0$"
check $? "--prefix selects another (empty) cluster" "$out"

"$CTL" --redis "$REDIS_ADDR" --json watch >"$CL_DIR/watch.out" 2>&1 &
watch_pid=$!
sleep 0.2
probe b register watched.name >/dev/null
for _ in $(seq 1 100); do
	grep -q '"event":"registered","args":\["watched.name","b"' "$CL_DIR/watch.out" && break
	sleep 0.02
done
grep -qE '^\{"time_ms":[0-9]+,"event":"registered","args":\["watched\.name","b","[0-9]+"\]\}$' "$CL_DIR/watch.out"
check $? "watch --json prints a registered event" "$(cat "$CL_DIR/watch.out")"
kill -INT $watch_pid 2>/dev/null
wait $watch_pid
check $? "watch stops with status 0 on SIGINT" "status $?"

out=$(ctl resign nobody 2>&1)
rc=$?
check $([ $rc = 1 ] && echo "$out" | grep -q "nobody is not the master (the master is $master"; echo $?) \
	"resign of a node that is not master is refused (status 1)" "status $rc: $out"

if grep -q resign "$CL_ROOT"/coord/*.lua; then
	out=$(ctl --json resign "$master" 2>&1)
	rc=$?
	echo "$out" | grep -qE "^\{\"resigned\":\"$master\",\"old_epoch\":$epoch,\"master\":\"[abc]\",\"epoch\":[0-9]+,\"took_ms\":[0-9]+\}$"
	check $(( rc == 0 && $? == 0 ? 0 : 1 )) "resign: another node becomes master" "status $rc: $out"
	new=$(echo "$out" | sed -E 's/.*"master":"([abc])".*/\1/')
	new_epoch=$(echo "$out" | sed -E 's/.*"epoch":([0-9]+).*/\1/')
	wait_log "$master" "COORD TERM END node=$master epoch=$epoch mono_ns=[0-9]+ reason=" 2000
	check $? "resign: the old master logs the end of its term with a reason" \
		"$(grep 'COORD TERM' "$CL_DIR/$master.log")"
	wait_log "$new" "COORD TERM BEGIN node=$new epoch=$new_epoch " 2000
	end=$(grep -oE "COORD TERM END node=$master epoch=$epoch mono_ns=[0-9]+" "$CL_DIR/$master.log" | sed 's/.*mono_ns=//')
	begin=$(grep -oE "COORD TERM BEGIN node=$new epoch=$new_epoch mono_ns=[0-9]+" "$CL_DIR/$new.log" | sed 's/.*mono_ns=//')
	if [ -n "$end" ] && [ -n "$begin" ]; then
		took=$(( (begin - end) / 1000000 ))
		check $([ "$took" -le 200 ] && [ "$new" != "$master" ]; echo $?) \
			"resign: $new took over within 200 ms of the end of the old term ($took ms)" "took $took ms"
	else
		not_ok "resign: hand-over time" "END '$end' BEGIN '$begin'"
	fi
	terms_disjoint
	check $? "resign: master terms do not overlap" "$(terms | tr '\n' ';')"
else
	echo "ok - resign hand-over # SKIP the coordinator does not handle resign yet"
fi

port=$(free_port)
out=$(timeout 10 "$CTL" --redis "127.0.0.1:$port" status 2>&1)
rc=$?
check $([ $rc = 2 ] && echo "$out" | grep -q "can't reach redis at 127.0.0.1:$port"; echo $?) \
	"unreachable Redis: status 2 and a clear message" "status $rc: $out"
out=$(timeout 10 "$CTL" status 2>&1)
rc=$?
check $([ $rc = 1 ] && echo "$out" | grep -q "no Redis address"; echo $?) \
	"no address given: status 1 and a hint" "status $rc: $out"

cl_summary
