#!/usr/bin/env bash
# demo.sh: the three-node fail-over demo (`make demo`).  It starts a private
# redis-server (unix socket in a temp dir) and three nodes on loopback
# (deploy/demo/: alpha and beta may become master, gamma is a client that
# calls the global name "lobby" every 100 ms), shows the master and a call,
# SIGKILLs the master, measures the fail-over, shows the lobby served by the
# new master, restarts the killed node, and stops everything it started
# (also on Ctrl-C or an error).  Each step prints one line.
#
# Environment: SKYNODE and SKYNODE_CTL (binaries; when SKYNODE is set the
# build step is skipped), DEMO_KEEP=1 keeps the temp dir with the logs.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/deploy/lib.sh"
LEASE_MS=1000
work=$(mktemp -d /tmp/skynode-demo.XXXXXX)
declare -A node_pid
redis_pid=
watch_pid=
step_no=0
failed=0

step() {
	step_no=$((step_no + 1))
	printf '%2d. %s\n' "$step_no" "$*"
}

fail() {
	echo "demo failed: $*" >&2
	echo "   (logs kept in $work)" >&2
	failed=1
	exit 1
}

# stop_pid PID: SIGTERM, then SIGKILL if it is still there after 2 s.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local name
	[ -n "$watch_pid" ] && stop_pid "$watch_pid"
	for name in "${!node_pid[@]}"; do stop_pid "${node_pid[$name]}"; done
	[ -n "$redis_pid" ] && stop_pid "$redis_pid"
	if [ "$failed" = 0 ] && [ -z "${DEMO_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo; echo "interrupted: stopping everything"; exit 130' INT TERM

now_ms() { date +%s%3N; }

build() {
	if [ -n "${SKYNODE:-}" ]; then
		step "using the binaries built already ($SKYNODE)"
	else
		make -C "$root" --no-print-directory all >"$work/build.log" 2>&1 ||
			{ tail -20 "$work/build.log"; fail "the build failed"; }
		step "built ./skynode and ./skynode-ctl"
	fi
	SKYNODE=${SKYNODE:-$root/skynode}
	SKYNODE_CTL=${SKYNODE_CTL:-$(dirname "$SKYNODE")/skynode-ctl}
	[ -x "$SKYNODE_CTL" ] || SKYNODE_CTL=$root/skynode-ctl
}

start_redis() {
	REDIS=$work/redis.sock
	redis-server --port 0 --unixsocket "$REDIS" --dir "$work" --logfile "$work/redis.log" \
		--save '' --appendonly no &
	redis_pid=$!
	for _ in $(seq 1 250); do
		redis-cli -s "$REDIS" PING 2>/dev/null | grep -q PONG && break
		sleep 0.02
	done
	redis-cli -s "$REDIS" PING 2>/dev/null | grep -q PONG || fail "redis-server did not start (see $work/redis.log)"
	step "started a private redis-server on $REDIS"
}

# start_node NAME CANDIDATE CALLER
start_node() {
	DEMO_ROOT=$root DEMO_NODE=$1 DEMO_ADDRESS=127.0.0.1:$(free_port) DEMO_REDIS=$REDIS \
		DEMO_CANDIDATE=$2 DEMO_CALLER=$3 \
		"$SKYNODE" "$root/deploy/demo/demo.conf" >>"$work/$1.log" 2>&1 &
	node_pid[$1]=$!
	wait_for "$work/$1.log" "^DEMO node $1 started" 5000 || fail "node $1 did not start (see $work/$1.log)"
}

ctl() { "$SKYNODE_CTL" --redis "$REDIS" --prefix demo "$@"; }

# The master per skynode-ctl, "node epoch", once it is not OLD (bounded).
wait_master() {
	local old=$1 ms=$2 start line node epoch
	start=$(now_ms)
	while [ $(($(now_ms) - start)) -le "$ms" ]; do
		line=$(ctl --json status 2>/dev/null)
		node=$(echo "$line" | sed -nE 's/.*"master":"([^"]+)","epoch":([0-9]+).*/\1/p')
		epoch=$(echo "$line" | sed -nE 's/.*"master":"([^"]+)","epoch":([0-9]+).*/\2/p')
		[ -n "$node" ] && [ "$node $epoch" != "$old" ] && { echo "$node $epoch"; return 0; }
		sleep 0.02
	done
	return 1
}

# The last answer gamma got from the lobby that mentions NODE.
answer_from() {
	wait_for "$work/gamma.log" "^DEMO call answer .*from $1 " 5000 || return 1
	grep -E "^DEMO call answer .*from $1 " "$work/gamma.log" | tail -1 | sed 's/^DEMO call answer //'
}

t_begin=$(now_ms)
echo "skynode demo: three nodes, one Redis, a master that dies"
build
start_redis
ctl --json watch >"$work/events" 2>"$work/watch.err" &
watch_pid=$!
start_node alpha true no
start_node beta true no
start_node gamma false yes
step "started nodes alpha, beta (candidates for master) and gamma (client), lease $LEASE_MS ms"

master=$(wait_master "" 5000) || fail "no master elected within 5 s"
m_node=${master% *}; m_epoch=${master#* }
wait_for "$work/$m_node.log" "^DEMO lobby registered on $m_node" 3000 || fail "the lobby was not registered"
step "$m_node was elected master (epoch $m_epoch) and registered its lobby as the global name \"lobby\""

answer=$(answer_from "$m_node") || fail "gamma got no answer from the lobby"
step "gamma calls \"lobby\": $answer"

t_kill=$(now_ms)
disown "${node_pid[$m_node]}" # no "Killed" notice from bash
kill -KILL "${node_pid[$m_node]}"
for _ in $(seq 1 200); do kill -0 "${node_pid[$m_node]}" 2>/dev/null || break; sleep 0.01; done
unset "node_pid[$m_node]"
step "killed $m_node, the master, with SIGKILL: no goodbye, its lease must run out"

new=$(wait_master "$master" 5000) || fail "no new master within 5 s"
n_node=${new% *}; n_epoch=${new#* }
wait_for "$work/events" "\"event\":\"master\",\"args\":\\[\"$n_node\",\"$n_epoch\"\\]" 1000
t_new=$(sed -nE "s/^\{\"time_ms\":([0-9]+),\"event\":\"master\",\"args\":\[\"$n_node\",\"$n_epoch\"\]\}$/\1/p" "$work/events" | head -1)
took=$(( ${t_new:-$(now_ms)} - t_kill ))
step "$n_node took over as master (epoch $n_epoch) $took ms after the kill (lease $LEASE_MS ms)"

answer=$(answer_from "$n_node") || fail "gamma got no answer from the new lobby"
step "the new master re-registered \"lobby\"; gamma calls it: $answer"

start_node "$m_node" true no
for _ in $(seq 1 100); do
	[ "$(ctl --json nodes 2>/dev/null | wc -l)" = 3 ] && break
	sleep 0.02
done
now=$(wait_master "" 1000)
step "restarted $m_node: it rejoined as a follower, ${now% *} stays master (epoch ${now#* })"

echo "    \$ skynode-ctl --redis $REDIS --prefix demo status"
ctl status | sed 's/^/    /'
trap - INT TERM
for name in "${!node_pid[@]}"; do stop_pid "${node_pid[$name]}"; done
node_pid=()
stop_pid "$watch_pid"
stop_pid "$redis_pid"
watch_pid= redis_pid=
elapsed=$(( $(now_ms) - t_begin ))
step "stopped the nodes (SIGTERM) and Redis; the demo took $((elapsed / 1000)).$((elapsed % 1000 / 100)) s"
exit 0
