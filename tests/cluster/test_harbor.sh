#!/usr/bin/env bash
# test_harbor.sh: skynet's harbor mode with three processes.  Node n1 is
# harbor 1 and the standalone master, n2 and n3 are harbors 2 and 3.  Checks:
# global names registered on one node are callable from the others, a remote
# skynet.call by handle works, a killed slave is reported and calls to it fail
# at once, the slave restarted with the same id rejoins, and when the master
# process is killed the slaves report it, calls to its services fail instead
# of hanging, and the two slaves keep talking.  The nodes run the coordinator
# with the harbor backend; its master, nodes and names are checked along.
#
# Each node runs the probe service written below (hprobe.lua, in the temp
# dir): it runs commands appended to <dir>/<node>.cmd ("<id> <command>
# <args>") and prints "PROBE node=<n> id=<id> <result>".  Every wait is
# bounded; every process is killed at the end, even on failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/deploy/lib.sh"   # free_port
SKYNODE=${SKYNODE:-$ROOT/skynode}
DIR=$(mktemp -d /tmp/skynode-harbor.XXXXXX)
declare -A PID
FAILED=0

cleanup() {
	local n
	for n in "${!PID[@]}"; do node_kill "$n"; done
	[ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; FAILED=$((FAILED + 1)); }
# expect NAME GOT WANT_PATTERN
expect() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1" "got '$2', want /$3/"; fi
}

cat >"$DIR/hprobe.lua" <<'EOF'
-- hprobe: the start service of a harbor test node (see test_harbor.sh);
-- launched with the argument "echo" it is the echo service instead.
local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"

local role = ...
local harbor_id = tonumber(skynet.getenv "harbor")

if role == "echo" then
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd, arg)
			if cmd == "ping" then
				skynet.retpack("pong", harbor_id)
			elseif cmd == "echo" then
				skynet.retpack(arg)
			end -- "hold": never answered
		end)
	end)
	return
end

local node = skynet.getenv "nodename"
local command_file = skynet.getenv "probe_dir" .. "/" .. node .. ".cmd"

local function say(...)
	local parts = table.pack(...)
	for i = 1, parts.n do parts[i] = tostring(parts[i]) end
	io.stdout:write("PROBE node=" .. node .. " " .. table.concat(parts, " ", 1, parts.n) .. "\n")
	io.stdout:flush()
end

local function call(dest, cmd)
	local ok, a, b = pcall(skynet.call, dest, "lua", cmd)
	if ok then return a, b end
	return "error", (tostring(a):gsub("%s+", "_"))
end

local command = {}

function command.register(name)
	local echo = skynet.newservice("hprobe", "echo")
	skynet.name(name, echo)
	return string.format("%08x", echo)
end

function command.callname(name) return call(name, "ping") end
function command.callhandle(hex) return call(tonumber(hex, 16), "ping") end

-- A 1 MiB string there and back: frames split across many reads.
function command.bigcall(hex)
	local big = string.rep("0123456789abcdef", 65536)
	local ok, back = pcall(skynet.call, tonumber(hex, 16), "lua", "echo", big)
	return ok and back == big and "same" or "different"
end

function command.query(name)
	local h = harbor.queryname(name, 100)
	return h and string.format("%08x", h) or "nil"
end

-- A call that is never answered; its end is reported as "held <result>".
function command.hold(hex)
	skynet.fork(function() say("held", call(tonumber(hex, 16), "hold")) end)
	return "holding"
end

-- The coordinator API over the harbor backend.
local coord = require "skynet.coord"

function command.cregister(name)
	local echo = skynet.newservice("hprobe", "echo")
	coord.register(name, echo)
	return string.format("%08x", echo)
end

function command.ccall(name)
	local ok, a, b = pcall(coord.call, name, "ping")
	if ok then return a, b end
	return "error", (tostring(a):gsub("%s+", "_"))
end

function command.cquery(name)
	local owner, addr = coord.query(name)
	return owner or "nil", addr and string.format("%08x", addr) or ""
end

function command.cmaster()
	local node, epoch = coord.master()
	if node then return node, epoch end
	return "nil"
end

function command.cnodes()
	local list = {}
	for name in pairs(coord.nodes()) do list[#list + 1] = name end
	table.sort(list)
	return table.concat(list, ",")
end

function command.peers()
	local list = {}
	for id in pairs(skynet.call(".cslave", "lua", "PEERS")) do list[#list + 1] = id end
	table.sort(list)
	return table.concat(list, ",")
end

local function run(line)
	local id, name, arg = line:match("^(%S+) (%S+) ?(%S*)")
	local result = table.pack(pcall(command[name], arg))
	say("id=" .. id, table.unpack(result, result[1] and 2 or 1, result.n))
end

local function poll_commands()
	local done = 0
	while true do
		local f = io.open(command_file)
		if f then
			local n = 0
			for line in f:lines() do
				n = n + 1
				if n > done then
					done = n
					skynet.fork(run, line)
				end
			end
			f:close()
		end
		skynet.sleep(2)
	end
end

skynet.start(function()
	skynet.fork(function()
		harbor.linkmaster()
		say("master down")
	end)
	skynet.fork(poll_commands)
	say("started")
end)
EOF

# A skynet slave written from the spec's byte layouts alone (harbor 9): it
# joins through the master link, takes the links the others dial, calls
# SVC1 with a hand-made frame and checks the answers byte for byte.
cat >"$DIR/fake_harbor.py" <<'EOF'
import socket, struct, sys

master_port, svc1, expected_peers = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3])

def report(good, name, why=""):
    print(("ok - " if good else "not ok - ") + name + ("" if good else ": " + why), flush=True)

def short_string(b):  # skynet serialization, strings under 32 bytes
    return bytes([4 | len(b) << 3]) + b

def small_int(i):  # 1..255
    return bytes([0x0a, i])

def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

def frame(body, source, ptype, dest, session):
    return struct.pack(">I", len(body) + 12) + body + struct.pack(">III", source, ptype << 24 | dest & 0xffffff, session)

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
listener.settimeout(5)
address = ("127.0.0.1:%d" % listener.getsockname()[1]).encode()
master = socket.create_connection(("127.0.0.1", master_port), timeout=5)
hello = short_string(b"H") + small_int(9) + short_string(address)
master.sendall(bytes([len(hello)]) + hello)
wait = read_exact(master, 5)
want = bytes([4, 0x0c, ord("W"), 0x0a, expected_peers])
report(wait == want, "wire: the master answers H with W(%d)" % expected_peers, "got %r" % wait)

links = {}
for _ in range(expected_peers):
    conn, _ = listener.accept()
    conn.settimeout(5)
    peer = read_exact(conn, 1)
    conn.sendall(b"\x09")
    links[peer[0]] = conn
report(sorted(links) == list(range(1, expected_peers + 1)), "wire: every older harbor dials and sends its id byte",
       "ids %r" % sorted(links))

link = links[1]
link.sendall(frame(short_string(b"ping"), 0x09000001, 10, svc1, 1))
n = struct.unpack(">I", read_exact(link, 4))[0]
got = read_exact(link, n)
want = b"\x24pong" + small_int(1) + struct.pack(">III", svc1, 1 << 24 | 1, 1)
report(got == want, "wire: a lua call by frame gets the response frame", "got %r want %r" % (got, want))

link.sendall(frame(b"", 0x09000001, 10, 0xfffff0, 2))
got = read_exact(link, 16)
want = struct.pack(">IIII", 12, 0x01fffff0, 7 << 24 | 1, 2)
report(got == want, "wire: a call to a missing service gets an empty PTYPE_ERROR frame", "got %r" % got)

link.sendall(struct.pack(">I", 5) + b"abcde")
try:
    closed = link.recv(1) == b""
except OSError:
    closed = True
report(closed, "wire: a frame with N < 12 closes the link")
master.close()
for conn in links.values():
    conn.close()
EOF

MASTER_PORT=$(free_port)
echo 0 >"$DIR/probe_id"

# node_start NAME HARBOR_ID [standalone]
node_start() {
	local name=$1 id=$2 port
	port=$(free_port)
	{
		echo "root = \"$ROOT/\""
		echo "thread = 2"
		echo "harbor = $id"
		echo "address = \"127.0.0.1:$port\""
		echo "master = \"127.0.0.1:$MASTER_PORT\""
		[ "${3:-}" = standalone ] && echo "standalone = \"127.0.0.1:$MASTER_PORT\""
		echo "coordinator = \"harbor\""
		echo "start = \"hprobe\""
		echo "bootstrap = \"snlua bootstrap\""
		echo "nodename = \"$name\""
		echo "probe_dir = \"$DIR\""
		echo "luaservice = root..\"service/?.lua;$DIR/?.lua\""
		echo "lua_path = root..\"lualib/?.lua;\"..root..\"lualib/?/init.lua;\"..root..\"coord/?.lua\""
	} >"$DIR/$name.conf"
	: >"$DIR/$name.cmd"
	: >"$DIR/$name.log"
	"$SKYNODE" "$DIR/$name.conf" >>"$DIR/$name.log" 2>&1 &
	PID[$name]=$!
	wait_log "$name" "PROBE node=$name started" 5000
}

node_kill() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}

# wait_log NAME PATTERN [MS]: 0 when the log has PATTERN within MS (3000).
wait_log() {
	local i
	for i in $(seq 1 $(( ${3:-3000} / 10 + 1 ))); do
		grep -qE "$2" "$DIR/$1.log" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# probe NAME COMMAND [ARG]: the result words (empty after 3 s).
probe() {
	local name=$1 id
	shift
	id=$(($(cat "$DIR/probe_id") + 1)) # probe runs in $(...): count in a file
	echo "$id" >"$DIR/probe_id"
	echo "$id $*" >>"$DIR/$name.cmd"
	if wait_log "$name" "^PROBE node=$name id=$id( |$)" 3000; then
		grep -E "^PROBE node=$name id=$id( |$)" "$DIR/$name.log" | head -1 |
			sed -E "s/^PROBE node=$name id=$id ?//"
	fi
}

# probe_until NAME WANT_PATTERN MS COMMAND [ARG]: repeat until it matches.
probe_until() {
	local name=$1 want=$2 ms=$3 start got
	shift 3
	start=$(date +%s%N)
	while :; do
		got=$(probe "$name" "$@")
		if [[ "$got" =~ $want ]] || [ $(( ($(date +%s%N) - start) / 1000000 )) -gt "$ms" ]; then
			echo "$got"
			return
		fi
		sleep 0.05
	done
}

# start_clock, then clock_ms: milliseconds since start_clock.
start_clock() { CLOCK=$(date +%s%N); }
clock_ms() { echo $(( ($(date +%s%N) - CLOCK) / 1000000 )); }

node_start n1 1 standalone || not_ok "n1 starts" "no start line: $(tail -5 "$DIR/n1.log")"
node_start n2 2 || not_ok "n2 starts" "no start line: $(tail -5 "$DIR/n2.log")"
node_start n3 3 || not_ok "n3 starts" "no start line: $(tail -5 "$DIR/n3.log")"
expect "n2 sees harbors 1 and 3" "$(probe_until n2 '^1,3$' 3000 peers)" '^1,3$'
expect "n3 sees harbors 1 and 2" "$(probe_until n3 '^1,2$' 3000 peers)" '^1,2$'

# Global names and handles across processes.
svc1=$(probe n1 register SVC1)
svc2=$(probe n2 register SVC2)
svc3=$(probe n3 register SVC3)
expect "a global name registered on n2 is callable from n3" "$(probe_until n3 '^pong 2$' 3000 callname SVC2)" '^pong 2$'
expect "and from n1 (the master node)" "$(probe_until n1 '^pong 2$' 3000 callname SVC2)" '^pong 2$'
expect "n2 calls SVC1 on the master node by name" "$(probe_until n2 '^pong 1$' 3000 callname SVC1)" '^pong 1$'
expect "queryname on n1 gives SVC3's handle" "$(probe_until n1 "^$svc3\$" 3000 query SVC3)" "^$svc3\$"
expect "a remote skynet.call by handle (n2 -> n3)" "$(probe n2 callhandle "$svc3")" '^pong 3$'
expect "a 1 MiB request and its answer cross the link" "$(probe n2 bigcall "$svc3")" '^same$'
expect "a call to an unknown local id on n3 fails" "$(probe n2 callhandle 03ffff00)" '^error '

# The coordinator API on the harbor backend.
expect "coord: n2 sees n1 as the master" "$(probe_until n2 '^n1 1$' 3000 cmaster)" '^n1 1$'
expect "coord: n3 lists the three nodes" "$(probe_until n3 '^n1,n2,n3$' 3000 cnodes)" '^n1,n2,n3$'
csvc2=$(probe n2 cregister CSVC2)
expect "coord: a name registered on n2 is seen on n3" "$(probe_until n3 "^n2 $csvc2\$" 3000 cquery CSVC2)" "^n2 $csvc2\$"
expect "coord: and is a global name callable by skynet.call" "$(probe_until n1 '^pong 2$' 3000 callname CSVC2)" '^pong 2$'
expect "coord: coord.call from n3 reaches CSVC2 on n2 over the harbor link" "$(probe n3 ccall CSVC2)" '^pong 2$'
csvc3=$(probe n3 cregister CSVC3)
expect "coord: n1 sees CSVC3 on n3" "$(probe_until n1 "^n3 $csvc3\$" 3000 cquery CSVC3)" "^n3 $csvc3\$"

# A foreign slave on the wire (see fake_harbor.py above).
timeout 20 python3 "$DIR/fake_harbor.py" "$MASTER_PORT" "$svc1" 3 ||
	not_ok "wire: the fake harbor runs" "exit status $?"
wait_log n1 "harbor 9 is down" 3000 && ok "wire: n1 reports the fake harbor down" ||
	not_ok "wire: n1 reports the fake harbor down" "no log line"
expect "wire: n2 is back to harbors 1 and 3" "$(probe_until n2 '^1,3$' 3000 peers)" '^1,3$'

# A slave dies: its peers report it, calls to it fail at once (also the one
# that was waiting), and the same harbor id can join again.
expect "n2 holds a call to SVC3" "$(probe n2 hold "$svc3")" '^holding$'
node_kill n3
wait_log n2 "harbor 3 is down" 3000 && ok "n2 reports harbor 3 down" || not_ok "n2 reports harbor 3 down" "no log line"
wait_log n2 "^PROBE node=n2 held error" 3000 && ok "the waiting call to n3 fails" ||
	not_ok "the waiting call to n3 fails" "still waiting after 3 s"
start_clock
expect "a new call to SVC3 by handle fails" "$(probe n2 callhandle "$svc3")" '^error '
expect "a new call to SVC3 by name fails" "$(probe n2 callname SVC3)" '^error '
[ "$(clock_ms)" -lt 2000 ] && ok "both fail at once" || not_ok "both fail at once" "took $(clock_ms) ms"
expect "n1 and n2 still talk" "$(probe n1 callname SVC2)" '^pong 2$'
expect "coord: n1 drops n3 from its nodes" "$(probe_until n1 '^n1,n2$' 3000 cnodes)" '^n1,n2$'
expect "coord: and forgets the names n3 held" "$(probe_until n1 '^nil $' 3000 cquery CSVC3)" '^nil $'

node_start n3 3 || not_ok "n3 restarts" "no start line: $(tail -5 "$DIR/n3.log")"
expect "the restarted harbor 3 rejoins n2" "$(probe_until n2 '^1,3$' 3000 peers)" '^1,3$'
probe n3 register SVC3 >/dev/null
expect "SVC3 registered again on the new n3 is callable from n2" "$(probe_until n2 '^pong 3$' 3000 callname SVC3)" '^pong 3$'
expect "the new n3 calls SVC2" "$(probe_until n3 '^pong 2$' 3000 callname SVC2)" '^pong 2$'
expect "coord: n2 lists the rejoined n3" "$(probe_until n2 '^n1,n2,n3$' 3000 cnodes)" '^n1,n2,n3$'

# The master process dies.
expect "n3 holds a call to SVC1 on the master node" "$(probe n3 hold "$svc1")" '^holding$'
node_kill n1
wait_log n2 "PROBE node=n2 master down" 3000 && ok "n2 reports the master down" || not_ok "n2 reports the master down" "no line"
wait_log n3 "PROBE node=n3 master down" 3000 && ok "n3 reports the master down" || not_ok "n3 reports the master down" "no line"
wait_log n3 "^PROBE node=n3 held error" 3000 && ok "the call waiting on the master node fails" ||
	not_ok "the call waiting on the master node fails" "still waiting after 3 s"
start_clock
expect "a call to SVC1 by name fails" "$(probe n2 callname SVC1)" '^error '
expect "a call to SVC1 by handle fails" "$(probe n3 callhandle "$svc1")" '^error '
[ "$(clock_ms)" -lt 2000 ] && ok "both fail at once" || not_ok "both fail at once" "took $(clock_ms) ms"
expect "n2 and n3 keep talking without the master" "$(probe n2 callname SVC3)" '^pong 3$'
expect "coord: n3 has no master any more (no fail-over)" "$(probe_until n3 '^nil$' 3000 cmaster)" '^nil$'
expect "coord: n3 lists n2 and n3" "$(probe_until n3 '^n2,n3$' 3000 cnodes)" '^n2,n3$'

# The survivors stop cleanly (and, in a sanitizer build, without reports).
for n in n2 n3; do
	kill -TERM "${PID[$n]}"
	for _ in $(seq 1 300); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.01; done
	if kill -0 "${PID[$n]}" 2>/dev/null; then
		not_ok "$n stops on SIGTERM" "still running after 3 s"
	else
		wait "${PID[$n]}"
		status=$?
		unset "PID[$n]"
		[ "$status" -eq 0 ] && ok "$n stops on SIGTERM" || not_ok "$n stops on SIGTERM" "exit status $status"
	fi
done
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$DIR"/n*.log; then
	not_ok "no sanitizer report in the node logs" "see the files above"
fi

[ "$FAILED" -eq 0 ] || { echo "logs:"; tail -n 30 "$DIR"/n*.log; }
[ "$FAILED" -eq 0 ]
