# tests/lib/redis.sh: start and stop a private redis-server for shell tests.
# Source it, then:
#   redis_start [PORT] [redis-server args...]   PORT 0 or empty: a free one
#       sets REDIS_PORT, REDIS_ADDR (127.0.0.1:PORT), REDIS_SOCK, REDIS_DIR, REDIS_PID
#   redis_kill      SIGKILL it (REDIS_DIR kept: redis_relaunch restarts on the same port)
#   redis_relaunch  start it again with the same port and arguments
#   redis_stop      kill it and remove REDIS_DIR
# Persistence is off (--save '', no AOF); every wait is bounded (5 s).

redis_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

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
	[ "$REDIS_PORT" = 0 ] && REDIS_PORT=$(redis_free_port)
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
