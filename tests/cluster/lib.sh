# tests/cluster/lib.sh: helpers for multi-process coordinator tests.  Source
# it (it sources tests/lib/redis.sh itself).  Every node runs tests/lua/coord_probe.lua as
# its start service; its output (log lines and PROBE lines) goes to
# $CL_DIR/<node>.log.  Every wait is bounded; cl_cleanup (installed as an
# EXIT trap by cl_init) kills every node and the redis-server.
#
#   cl_init                         temp dir, trap, counters
#   cl_init_with_redis              cl_init, then a private redis-server (exits if none)
#   nodes_start NAME...             node_start each, one not ok line per failure
#   node_start NAME [CONFIG_LINE...]   start a node (extra config lines appended;
#                                   cluster_address is a free port unless given)
#   node_signal NAME SIG            send a signal (KILL, STOP, CONT, TERM)
#   node_wait_exit NAME             wait (5 s max) for it to exit
#   probe NAME COMMAND...           run a probe command, print its result
#   wait_log NAME PATTERN [MS]      wait until the node's log has PATTERN (grep -E)
#   agreed_master NAME...           "node epoch" when all those nodes see the same master
#   wait_agreed MS [-not OLD] NAME...  the agreed master (other than OLD), within MS
#   term_ns BEGIN|END NODE EPOCH    mono_ns of that COORD TERM line
#   mono_ns                         CLOCK_MONOTONIC now, in ns (same clock as skynet.hpc)
#   ok NAME / not_ok NAME WHY / check COND_RESULT NAME WHY
#   cl_summary                      exit status 0 if every check passed

CL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$CL_ROOT/tests/lib/redis.sh"
SKYNODE=${SKYNODE:-$CL_ROOT/skynode}
declare -A NODE_PID
CL_FAILED=0

cl_cleanup() {
	local name
	for name in "${!NODE_PID[@]}"; do
		kill -CONT "${NODE_PID[$name]}" 2>/dev/null
		kill -9 "${NODE_PID[$name]}" 2>/dev/null
		wait "${NODE_PID[$name]}" 2>/dev/null
	done
	redis_stop 2>/dev/null
	[ -n "${CL_KEEP:-}" ] || rm -rf "$CL_DIR"
}

cl_init() {
	CL_DIR=$(mktemp -d /tmp/skynode-cluster.XXXXXX)
	trap cl_cleanup EXIT
}

cl_init_with_redis() {
	cl_init
	redis_start >/dev/null || { echo "not ok - redis-server: could not start"; exit 1; }
}

mono_ns() {
	python3 -c 'import time; print(time.monotonic_ns())'
}

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; CL_FAILED=$((CL_FAILED + 1)); }

# check STATUS NAME WHY: ok when STATUS is 0.
check() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2" "$3"; fi
}

node_config() {
	local name=$1
	shift
	cat <<EOF
root = "$CL_ROOT/"
thread = 2
harbor = 0
start = "coord_probe"
bootstrap = "snlua bootstrap"
luaservice = root.."service/?.lua;"..root.."tests/lua/?.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua;"..root.."coord/?.lua"
nodename = "$name"
probe_dir = "$CL_DIR"
coordinator = "redis"
coord_redis = "$REDIS_ADDR"
coord_lease_ms = ${CL_LEASE_MS:-1000}
cluster_address = "127.0.0.1:$(free_port)"
EOF
	local line
	for line in "$@"; do echo "$line"; done
}

started_count() {
	local n
	n=$(grep -c "^PROBE node=$1 started" "$CL_DIR/$1.log" 2>/dev/null)
	echo "${n:-0}"
}

# Waits (5 s max) for this run's start line: the log keeps earlier runs'.
node_start() {
	local name=$1 before i
	shift
	before=$(started_count "$name")
	node_config "$name" "$@" >"$CL_DIR/$name.conf"
	: >"$CL_DIR/$name.cmd"
	"$SKYNODE" "$CL_DIR/$name.conf" >>"$CL_DIR/$name.log" 2>&1 &
	NODE_PID[$name]=$!
	for i in $(seq 1 500); do
		[ "$(started_count "$name")" -gt "$before" ] && return 0
		sleep 0.01
	done
	return 1
}

nodes_start() {
	local name
	for name in "$@"; do
		node_start "$name" || not_ok "node $name starts" "no probe start line"
	done
}

node_signal() {
	kill -"$2" "${NODE_PID[$1]}" 2>/dev/null
}

node_wait_exit() {
	local pid=${NODE_PID[$1]} i
	for i in $(seq 1 500); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	unset "NODE_PID[$1]"
	return 0
}

# wait_log NAME PATTERN [MS]: 0 when found within MS (default 3000).
wait_log() {
	local file=$CL_DIR/$1.log ms=${3:-3000} i
	for i in $(seq 1 $((ms / 10 + 1))); do
		grep -qE "$2" "$file" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# probe NAME COMMAND...: prints the result words (empty on timeout, 3 s).
probe() {
	local name=$1 id
	shift
	id=$(date +%s%N)  # probe often runs in a subshell: no shared counter
	echo "$id $*" >>"$CL_DIR/$name.cmd"
	if wait_log "$name" "^PROBE node=$name id=$id( |$)" 3000; then
		grep -E "^PROBE node=$name id=$id( |$)" "$CL_DIR/$name.log" | head -1 |
			sed -E "s/^PROBE node=$name id=$id ?//"
	fi
}

# wait_probe NAME WANT MS COMMAND...: repeat COMMAND until it prints WANT.
wait_probe() {
	local name=$1 want=$2 ms=$3 start
	shift 3
	start=$(date +%s%N)
	while [ $(( ($(date +%s%N) - start) / 1000000 )) -le "$ms" ]; do
		[ "$(probe "$name" "$@")" = "$want" ] && return 0
		sleep 0.02
	done
	return 1
}

# The master as every node named sees it: "node epoch" if all agree.
agreed_master() {
	local name answers=()
	for name in "$@"; do answers+=("$(probe "$name" master)"); done
	printf '%s\n' "${answers[@]}" | sort -u | { read -r first; read -r second
		[ -n "$first" ] && [ "$first" != nil ] && [ -z "${second:-}" ] && echo "$first"; }
}

# wait_agreed MS [-not "NODE EPOCH"] NODES...: prints the agreed master once
# there is one (other than the one given with -not).
wait_agreed() {
	local ms=$1 start m old=
	shift
	[ "$1" = -not ] && { old=$2; shift 2; }
	start=$(date +%s%N)
	while [ $(( ($(date +%s%N) - start) / 1000000 )) -le "$ms" ]; do
		m=$(agreed_master "$@") && [ "$m" != "$old" ] && { echo "$m"; return 0; }
		sleep 0.05
	done
	return 1
}

# term_ns BEGIN|END NODE EPOCH: mono_ns of that TERM line of NODE's log.
term_ns() {
	grep -oE "COORD TERM $1 node=$2 epoch=$3 mono_ns=[0-9]+" "$CL_DIR/$2.log" | head -1 | sed 's/.*mono_ns=//'
}

# All COORD TERM lines of every log, as "epoch begin_ns end_ns node" sorted
# by epoch (end_ns "-" while a term is open or its node was SIGKILLed).
terms() {
	cat "$CL_DIR"/*.log | awk '
		/COORD TERM BEGIN/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			begin[f["epoch"]] = f["mono_ns"]; node[f["epoch"]] = f["node"] }
		/COORD TERM END/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			end_[f["epoch"]] = f["mono_ns"] }
		END { for (e in begin) print e, begin[e], (e in end_) ? end_[e] : "-", node[e] }' | sort -n
}

# 0 when terms never overlap and epochs strictly increase with time.  A term
# with no END line belongs to a SIGKILLed node and is checked by its BEGIN only.
terms_disjoint() {
	terms | awk '
		{ if (NR > 1 && ($2 <= prev_begin || (prev_end != "-" && $2 <= prev_end))) bad = 1
		  prev_begin = $2; prev_end = $3 }
		END { exit bad }'
}

cl_summary() {
	[ "$CL_FAILED" -eq 0 ]
}
