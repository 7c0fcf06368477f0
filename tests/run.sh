#!/usr/bin/env bash
# run.sh: runs the whole test suite (unit tests, Lua test services inside a
# real node, multi-process cluster tests) and ends with "N passed, N failed".
#
# Environment: SKYNODE (the binary), BUILD (the build folder holding
# tests/test_*), SANITIZE (the sanitizer variant, empty for none),
# ONLY (optional: a substring; only tests whose path contains it run).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export SKYNODE_ROOT=$root
SKYNODE=$(realpath "${SKYNODE:-$root/skynode}")
export SKYNODE
BUILD=${BUILD:-build/release}
ONLY=${ONLY:-}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
log_dir=$(mktemp -d /tmp/skynode-tests.XXXXXX)

passed=0
failed=0
failures=()

# add NAME PASSED FAILED
add() {
	passed=$((passed + $2))
	failed=$((failed + $3))
	[ "$3" -gt 0 ] && failures+=("$1")
	printf '%-48s %4d passed, %d failed\n' "$1" "$2" "$3"
}

sanitizer_report() {
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$1"
}

selected() { [ -z "$ONLY" ] || [[ "$1" == *"$ONLY"* ]]; }

# cmocka binaries: one line per test, "[       OK ]" or "[  FAILED  ] name".
run_unit() {
	local t name out ok bad
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		name=unit/$(basename "$t")
		selected "$name" || continue
		out=$log_dir/$(basename "$t").log
		timeout 600 "$t" >"$out" 2>&1
		local rc=$?
		ok=$(grep -c '^\[       OK \]' "$out")
		bad=$(grep -cE '^\[  (FAILED|ERROR) +\] [^0-9]' "$out")
		if [ $rc -ne 0 ] && [ "$bad" -eq 0 ] || sanitizer_report "$out"; then
			bad=$((bad + 1))
		fi
		add "$name" "$ok" "$bad"
		[ "$bad" -gt 0 ] && tail -40 "$out"
	done
}

# Lua test services: "ok - ..." / "not ok - ..." lines, "# done" at the end.
run_lua() {
	local t name out ok bad
	for t in tests/lua/test_*.lua; do
		name=lua/$(basename "$t" .lua)
		selected "$name" || continue
		out=$log_dir/$(basename "$t").log
		SKYNODE_TEST=$(basename "$t" .lua) timeout 300 "$SKYNODE" \
			tests/lua/config.test >"$out" 2>&1
		local rc=$?
		ok=$(grep -c '\bok - ' "$out")
		ok=$((ok - $(grep -c 'not ok - ' "$out")))
		bad=$(grep -c 'not ok - ' "$out")
		if ! grep -q '# done' "$out" || [ $rc -ne 0 ] || sanitizer_report "$out"; then
			bad=$((bad + 1))
		fi
		add "$name" "$ok" "$bad"
		[ "$bad" -gt 0 ] && grep -vE '\bok - ' "$out" | tail -40
	done
}

# Multi-process tests: shell scripts printing the same ok/not ok lines.
run_cluster() {
	local t name out ok bad
	for t in tests/cluster/test_*.sh; do
		[ -f "$t" ] || continue
		name=cluster/$(basename "$t" .sh)
		selected "$name" || continue
		out=$log_dir/$(basename "$t").log
		timeout 600 bash "$t" >"$out" 2>&1
		local rc=$?
		ok=$(grep -c '^ok - ' "$out")
		bad=$(grep -c '^not ok - ' "$out")
		if [ $rc -ne 0 ] && [ "$bad" -eq 0 ] || sanitizer_report "$out"; then
			bad=$((bad + 1))
		fi
		add "$name" "$ok" "$bad"
		[ "$bad" -gt 0 ] && tail -60 "$out"
	done
}

run_unit
run_lua
run_cluster

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $log_dir)"
else
	rm -rf "$log_dir"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
