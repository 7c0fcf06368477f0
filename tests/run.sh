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

# A run that printed no failure but exited badly, or that a sanitizer
# flagged, counts as one more failure.  died_quietly LOG RC BAD
died_quietly() {
	{ [ "$2" -ne 0 ] && [ "$3" -eq 0 ]; } || sanitizer_report "$1"
}

# Each kind of test has KIND_start FILE (runs it, output on stdout),
# KIND_tally LOG RC (prints "passed failed") and KIND_excerpt LOG (what to
# show when it failed).

# cmocka binaries: one line per test, "[       OK ]" or "[  FAILED  ] name".
unit_start() { timeout 600 "$1"; }
unit_tally() {
	local ok bad
	ok=$(grep -c '^\[       OK \]' "$1")
	bad=$(grep -cE '^\[  (FAILED|ERROR) +\] [^0-9]' "$1")
	died_quietly "$1" "$2" "$bad" && bad=$((bad + 1))
	echo "$ok $bad"
}
unit_excerpt() { tail -40 "$1"; }

# Lua test services: "ok - ..." / "not ok - ..." lines, "# done" at the end.
lua_start() {
	SKYNODE_TEST=$(basename "$1" .lua) timeout 300 "$SKYNODE" tests/lua/config.test
}
lua_tally() {
	local ok bad
	bad=$(grep -c 'not ok - ' "$1")
	ok=$(($(grep -c '\bok - ' "$1") - bad))
	if ! grep -q '# done' "$1" || [ "$2" -ne 0 ] || sanitizer_report "$1"; then
		bad=$((bad + 1))
	fi
	echo "$ok $bad"
}
lua_excerpt() { grep -vE '\bok - ' "$1" | tail -40; }

# Multi-process tests: shell scripts printing the same ok/not ok lines.
cluster_start() { timeout 600 bash "$1"; }
cluster_tally() {
	local ok bad
	ok=$(grep -c '^ok - ' "$1")
	bad=$(grep -c '^not ok - ' "$1")
	died_quietly "$1" "$2" "$bad" && bad=$((bad + 1))
	echo "$ok $bad"
}
cluster_excerpt() { tail -60 "$1"; }

# run_kind KIND FILE...: runs every selected FILE as a KIND test.
run_kind() {
	local kind=$1 t name out rc counts
	shift
	for t in "$@"; do
		[ -e "$t" ] || continue
		name=$kind/$(basename "$t")
		name=${name%.*}
		selected "$name" || continue
		out=$log_dir/$(basename "$t").log
		"${kind}_start" "$t" >"$out" 2>&1
		rc=$?
		counts=$("${kind}_tally" "$out" "$rc")
		add "$name" ${counts% *} ${counts#* }
		[ "${counts#* }" -gt 0 ] && "${kind}_excerpt" "$out"
	done
}

run_kind unit "$BUILD"/tests/test_*
run_kind lua tests/lua/test_*.lua
run_kind cluster tests/cluster/test_*.sh

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $log_dir)"
else
	rm -rf "$log_dir"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
