# tests/lib/redis.sh: start and stop a private redis-server for shell tests.
# Source it, then:
#   redis_start [PORT] [redis-server args...]   PORT 0 or empty: a free one
#       sets REDIS_PORT, REDIS_ADDR (127.0.0.1:PORT), REDIS_SOCK, REDIS_DIR, REDIS_PID
#   redis_kill      SIGKILL it (REDIS_DIR kept: redis_relaunch restarts on the same port)
#   redis_relaunch  start it again with the same port and arguments
#   redis_stop      kill it and remove REDIS_DIR
# Sourcing it also gives free_port (deploy/lib.sh).
# Persistence is off (--save '', no AOF); every wait is bounded (5 s).
#
# Redis Sentinel (its own processes, independent of the above):
#   redis_ha_start NAME     a master, its replica and three redis-sentinel
#       (quorum 2, down after 500 ms, fail-over timeout 2000 ms) following
#       the master NAME; returns once the replica is in sync and every
#       sentinel knows the two others and the replica (15 s at most).
#       Sets REDIS_HA_NAME, REDIS_HA_SENTINELS ("127.0.0.1:P,..."), REDIS_HA_DIR.
#   redis_ha_master_port    the master's port according to the sentinels
#   redis_ha_kill PORT      SIGKILL the redis-server on PORT
#   redis_ha_stop           kill every process, remove REDIS_HA_DIR

source "$(dirname "${BASH_SOURCE[0]}")/../../deploy/lib.sh"   # free_port

redis_wait_ready() {
	for _ in $(seq 1 500); do
		if redis-cli -p "$REDIS_PORT" PING 2>/dev/null | grep -q -e PONG -e NOAUTH; then
			return 0
		fi
		if ! kill -0 "$REDIS_PID" 2>/dev/null; then
			echo "redis-server exited at start; see $REDIS_DIR/redis.log" >&2
			return 1
		fi
		sleep 0.01
	done
	echo "redis-server on port $REDIS_PORT not ready within 5 s" >&2
	return 1
}

redis_relaunch() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" \
		--dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no \
		"${REDIS_ARGS[@]}" &
	REDIS_PID=$!
	redis_wait_ready
}

redis_start() {
	REDIS_PORT=${1:-0}
	[ "$REDIS_PORT" = 0 ] && REDIS_PORT=$(free_port)
	[ $# -gt 0 ] && shift
	REDIS_ARGS=("$@")
	REDIS_DIR=$(mktemp -d /tmp/redis-test-XXXXXX)
	REDIS_SOCK=$REDIS_DIR/redis.sock
	REDIS_ADDR=127.0.0.1:$REDIS_PORT
	redis_relaunch
}

redis_kill() {
	[ -n "$REDIS_PID" ] || return 0
	kill -9 "$REDIS_PID" 2>/dev/null || true
	for _ in $(seq 1 500); do
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.01
	done
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=
}

redis_stop() {
	redis_kill
	[ -n "$REDIS_DIR" ] && rm -rf "$REDIS_DIR"
	REDIS_DIR=
}

declare -A REDIS_HA_PID   # port -> pid, servers and sentinels

# redis_ha_wait MS COMMAND...: 0 once COMMAND succeeds (every 50 ms), within MS.
redis_ha_wait() {
	local ms=$1 i
	shift
	for i in $(seq 1 $((ms / 50 + 1))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

redis_ha_server() {
	local port=$1
	shift
	mkdir -p "$REDIS_HA_DIR/$port"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$REDIS_HA_DIR/$port" \
		--logfile "$REDIS_HA_DIR/$port/redis.log" --save '' --appendonly no "$@" &
	REDIS_HA_PID[$port]=$!
}

redis_ha_sentinel() {
	local port=$1 master_port=$2 dir=$REDIS_HA_DIR/$1
	mkdir -p "$dir"
	printf '%s\n' "port $port" "bind 127.0.0.1" "dir $dir" "logfile $dir/redis.log" \
		"sentinel monitor $REDIS_HA_NAME 127.0.0.1 $master_port 2" \
		"sentinel down-after-milliseconds $REDIS_HA_NAME 500" \
		"sentinel failover-timeout $REDIS_HA_NAME 2000" >"$dir/sentinel.conf"
	redis-sentinel "$dir/sentinel.conf" &
	REDIS_HA_PID[$port]=$!
}

redis_ha_synced() {
	redis-cli -p "$1" INFO replication 2>/dev/null | grep -q master_link_status:up
}

# Every sentinel sees 2 other sentinels and at least one replica.
redis_ha_sentinels_agree() {
	local s info
	for s in ${REDIS_HA_SENTINELS//,/ }; do
		info=$(redis-cli -p "${s##*:}" SENTINEL MASTER "$REDIS_HA_NAME" 2>/dev/null | paste - -)
		echo "$info" | grep -qP '^num-other-sentinels\t2$' || return 1
		echo "$info" | grep -qP '^num-slaves\t[1-9]' || return 1
	done
}

redis_ha_start() {
	REDIS_HA_NAME=$1
	REDIS_HA_DIR=$(mktemp -d /tmp/redis-ha-XXXXXX)
	local master replica port i list=
	master=$(free_port)
	replica=$(free_port)
	redis_ha_server "$master"
	redis_ha_wait 5000 redis-cli -p "$master" PING >/dev/null 2>&1 || return 1
	redis_ha_server "$replica" --replicaof 127.0.0.1 "$master"
	redis_ha_wait 10000 redis_ha_synced "$replica" || return 1
	for i in 1 2 3; do
		port=$(free_port)
		redis_ha_sentinel "$port" "$master"
		list=$list${list:+,}127.0.0.1:$port
	done
	REDIS_HA_SENTINELS=$list
	redis_ha_wait 15000 redis_ha_sentinels_agree
}

redis_ha_master_port() {
	local first=${REDIS_HA_SENTINELS%%,*}
	redis-cli -p "${first##*:}" --raw SENTINEL get-master-addr-by-name "$REDIS_HA_NAME" \
		2>/dev/null | tail -1
}

redis_ha_kill() {
	local pid=${REDIS_HA_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "REDIS_HA_PID[$1]"
}

redis_ha_stop() {
	local port
	for port in "${!REDIS_HA_PID[@]}"; do redis_ha_kill "$port"; done
	[ -n "${REDIS_HA_DIR:-}" ] && rm -rf "$REDIS_HA_DIR"
	REDIS_HA_DIR=
}
