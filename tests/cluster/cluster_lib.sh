# tests/cluster/cluster_lib.sh: helpers for the two-node cluster transport
# tests (test_cluster_*.sh).  Source it; it makes a temp folder ($CT_DIR),
# installs a trap that kills every node it started, and provides:
#   free_port                    a free TCP port on 127.0.0.1 (deploy/lib.sh)
#   ct_start NAME SERVICE        start a node running SERVICE; output in $CT_DIR/NAME.log
#   ct_kill NAME                 SIGKILL it (and reap it)
#   ct_wait_log NAME PATTERN MS  0 once the log has PATTERN (grep -E), 1 after
#                                MS or when the node is no longer running
#   ct_report NAME               print its ok/not ok lines; count failures in CT_FAILED
# The cluster config ($CT_DIR/cluster.conf) is written by the test.

CT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$CT_ROOT/deploy/lib.sh"
SKYNODE=${SKYNODE:-$CT_ROOT/skynode}
CT_DIR=$(mktemp -d /tmp/skynode-ct.XXXXXX)
CT_FAILED=0
declare -A CT_PID

ct_cleanup() {
	local name
	for name in "${!CT_PID[@]}"; do
		kill -9 "${CT_PID[$name]}" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${CT_KEEP:-}" ] || rm -rf "$CT_DIR"
}
trap ct_cleanup EXIT

ct_start() {
	local name=$1 service=$2
	cat >"$CT_DIR/$name.conf" <<CONF
root = "$CT_ROOT/"
thread = 2
harbor = 0
start = "$service"
bootstrap = "snlua bootstrap"
luaservice = root.."service/?.lua;"..root.."tests/lua/?.lua;"..root.."coord/?.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua;"..root.."tests/lua/?.lua;"..root.."coord/?.lua"
cluster = "$CT_DIR/cluster.conf"
test_dir = "$CT_DIR"
CONF
	"$SKYNODE" "$CT_DIR/$name.conf" >>"$CT_DIR/$name.log" 2>&1 &
	CT_PID[$name]=$!
}

ct_kill() {
	kill -9 "${CT_PID[$1]}" 2>/dev/null
	wait "${CT_PID[$1]}" 2>/dev/null
	unset "CT_PID[$1]"
}

ct_wait_log() {
	local file=$CT_DIR/$1.log i
	for i in $(seq 1 $(($3 / 10 + 1))); do
		grep -qE "$2" "$file" 2>/dev/null && return 0
		kill -0 "${CT_PID[$1]:-0}" 2>/dev/null || { grep -qE "$2" "$file" 2>/dev/null; return; }
		sleep 0.01
	done
	return 1
}

ct_report() {
	grep -E '^(not )?ok - ' "$CT_DIR/$1.log"
	CT_FAILED=$((CT_FAILED + $(grep -cE '^not ok - ' "$CT_DIR/$1.log")))
}
