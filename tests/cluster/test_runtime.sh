#!/usr/bin/env bash
# test_runtime: the runtime as a process: a C service loaded with dlopen from
# `cpath`, the `preload` file, SIGHUP reopening the log file, the monitor
# reporting a service stuck in an endless loop and signal 0 breaking it,
# SIGTERM and SIGINT ending the node cleanly and fast, and a bad config
# refused with the file and the key named.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYNODE=${SKYNODE:-$root/skynode}
dir=$(mktemp -d /tmp/skynode-rt.XXXXXX)
pids=()
failed=0
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

check() { # check STATUS NAME DETAILS
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2: $3"; failed=$((failed + 1)); fi
}

source "$root/deploy/lib.sh" # wait_for

# write_config NAME EXTRA: a node config in $dir/NAME.conf logging to NAME.log
write_config() {
	cat >"$dir/$1.conf" <<CONF
thread = 2
harbor = 0
start = "rt_main"
logger = "$dir/$1.log"
preload = "$dir/pre.lua"
cpath = "$dir/?.so"
lua_cpath = "$dir/?.so"
logpath = "$dir"
luaservice = "$root/service/?.lua;$root/tests/lua/?.lua"
lua_path = "$root/lualib/?.lua;$root/coord/?.lua"
$2
CONF
}

# stop_node PID SIGNAL: 0 if it exits with status 0 within 1 s; sets $ms
stop_node() {
	local start=$(date +%s%N) i
	kill -"$2" "$1"
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.01
	done
	wait "$1"
	local status=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ $status -eq 0 ] && [ $ms -lt 1000 ]
}

echo 'RT_PRELOADED = "yes"' >"$dir/pre.lua"
cc -shared -fPIC -I"$root/node" -o "$dir/hello.so" "$root/tests/cluster/rt_hello.c" &&
	cc -shared -fPIC $(pkg-config --cflags lua5.4) -o "$dir/rtmod.so" "$root/tests/cluster/rt_luamod.c"
check $? "a C service and a Lua C module build against our headers" "cc failed"

write_config a 'rt_loop = true'
"$SKYNODE" "$dir/a.conf" >"$dir/a.out" 2>&1 &
a=$!
pids+=("$a")
wait_for "$dir/a.log" "tick 2$" 5000
check $? "the node logs to the logger file" "no tick in $dir/a.log"
grep -q "PRELOADED yes" "$dir/a.log"
check $? "the preload file ran before the service" "$(grep PRELOADED "$dir/a.log")"
grep -q "hello world from C" "$dir/a.log" && grep -q "C SERVICE pong" "$dir/a.log"
check $? "the C service from cpath started and answered" "$(grep -E 'C SERVICE|hello' "$dir/a.log")"
grep -q "LUA C MODULE 42" "$dir/a.log"
check $? "require finds a Lua C module through lua_cpath" "$(grep 'LUA C MODULE' "$dir/a.log")"
logged=$(sed -nE 's/.*LOGGED ([0-9a-f]{8})$/\1/p' "$dir/a.log")
grep -qE ' 10 [0-9]+ [0-9]+ ' "$dir/$logged.log" 2>/dev/null
check $? "LOGON writes a service's messages to logpath/<handle>.log" "$(cat "$dir/$logged.log" 2>&1 | head -3)"

mv "$dir/a.log" "$dir/a.log.1"
kill -HUP "$a"
wait_for "$dir/a.log" "tick" 2000
check $? "SIGHUP reopens the log file" "no new $dir/a.log after SIGHUP"

wait_for "$dir/a.log" "endless loop" 12000
check $? "the monitor reports the looping service" "no endless-loop warning"
wait_for "$dir/a.log" "LOOPER " 5000
grep -q "LOOPER alive" "$dir/a.log"
check $? "signal 0 breaks the loop and the service answers again" "$(grep LOOPER "$dir/a.log")"

stop_node "$a" TERM
check $? "SIGTERM ends the node with status 0 within 1 s ($ms ms)" "status or time"

write_config b ''
"$SKYNODE" "$dir/b.conf" >"$dir/b.out" 2>&1 &
b=$!
pids+=("$b")
wait_for "$dir/b.log" "tick 1$" 5000
stop_node "$b" INT
check $? "SIGINT ends the node with status 0 within 1 s ($ms ms)" "status or time"

printf 'thread = "many"\n' >"$dir/bad.conf"
out=$("$SKYNODE" "$dir/bad.conf" 2>&1)
status=$?
[ $status -ne 0 ] && echo "$out" | grep -q "bad.conf" && echo "$out" | grep -q "thread"
check $? "a bad config exits non-zero naming the file and the key" "status $status: $out"

write_config bogus 'coordinator = "bogus"'
out=$(timeout 10 "$SKYNODE" "$dir/bogus.conf" 2>&1)
status=$?
[ $status -eq 1 ] && cat "$dir/bogus.log" - <<<"$out" | grep -q "bogus.conf: config key \`coordinator\`"
check $? "a bad coordinator stops the boot with status 1, naming the file and the key" \
	"status $status: $out $(cat "$dir/bogus.log")"

[ "$failed" -eq 0 ]
