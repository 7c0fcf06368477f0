#!/bin/sh
# run.sh: build every tests/fuzz/fuzz_*.c libFuzzer target and run each for
# the given number of seconds (default 300), all at once.  Fails if a target
# does not build, or if any run finds a crash, a leak or a timeout.
#
#   tests/fuzz/run.sh [seconds]
#
# Targets link the self-contained codecs of node/ (allocator, cluster codec,
# netpack, serialization codec) and the shared Lua checker state
# (tests/fuzz/lua_checker.c).  Seeds come from tests/fuzz/corpus/<target>/
# (every target has one) and are only read: new inputs go to a temporary
# folder, crash files to build/fuzz/.
set -u

seconds=${1:-300}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/fuzz"
work=$(mktemp -d "${TMPDIR:-/tmp}/skynode-fuzz.XXXXXX")
trap '[ -n "${KEEP_FUZZ_LOGS:-}" ] || rm -rf "$work"' EXIT INT TERM
mkdir -p "$out"

sources="node/malloc.c node/lua_cluster.c node/lua_netpack.c node/lua_seri.c
	tests/fuzz/lua_checker.c"
cflags="-std=gnu11 -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined"
cflags="$cflags -fno-sanitize-recover=undefined -I$root/node $(pkg-config --cflags lua5.4)"
libs=$(pkg-config --libs lua5.4)

targets=""
for src in "$root"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	if [ ! -d "$root/tests/fuzz/corpus/$name" ]; then
		echo "FAIL $name: no seed folder tests/fuzz/corpus/$name"
		exit 1
	fi
	objs=""
	for s in $sources; do objs="$objs $root/$s"; done
	if ! clang $cflags -o "$out/$name" "$src" $objs $libs; then
		echo "FAIL $name: does not build"
		exit 1
	fi
	targets="$targets $name"
done

for name in $targets; do
	mkdir -p "$work/$name"
	seeds="$root/tests/fuzz/corpus/$name"
	(cd "$out" && "./$name" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=140000 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$work/$name" $seeds \
		>"$work/$name.log" 2>&1; echo $? >"$work/$name.rc") &
done
wait

failed=0
for name in $targets; do
	rc=$(cat "$work/$name.rc")
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
	if [ "$rc" = 0 ]; then
		echo "ok   $name (${runs:-?} runs in ${seconds}s)"
	else
		echo "FAIL $name (exit $rc), last lines of its log:"
		tail -30 "$work/$name.log"
		failed=1
	fi
done
exit $failed
