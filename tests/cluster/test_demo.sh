#!/usr/bin/env bash
# test_demo: runs `make demo`'s script (deploy/demo.sh) with the binaries
# under test, bounded to 30 s, and checks its exit status, its story lines
# (master elected, call answered, SIGKILL, fail-over with a measured time
# within lease + 500 ms, the lobby served by the new master, the restart,
# the stop) and that it leaves no process or temp dir behind.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export SKYNODE=${SKYNODE:-$root/skynode}
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2" "$3"; fi; }

start=$(date +%s%3N)
out=$(timeout 30 "$root/deploy/demo.sh" 2>&1)
rc=$?
took=$(( $(date +%s%3N) - start ))
echo "$out" | sed 's/^/# /'
check $rc "the demo exits 0 within 30 s ($took ms)" "status $rc"

has() { echo "$out" | grep -qE "$1"; }
has '^ 4\. (alpha|beta) was elected master \(epoch [0-9]+\) and registered its lobby as the global name "lobby"$'
check $? "step 4 names the master and its epoch" "no such line"
m=$(echo "$out" | sed -nE 's/^ 4\. (alpha|beta) was elected.*/\1/p')
has "^ 5\. gamma calls \"lobby\": welcome, from $m \(master, epoch [0-9]+\)$"
check $? "step 5: the call is answered by the master's lobby" "no such line"
has "^ 6\. killed $m, the master, with SIGKILL"
check $? "step 6: the master is killed" "no such line"
line=$(echo "$out" | grep -E '^ 7\. (alpha|beta) took over as master \(epoch [0-9]+\) [0-9]+ ms after the kill')
n=$(echo "$line" | sed -nE 's/^ 7\. ([a-z]+) took over.*/\1/p')
ms=$(echo "$line" | sed -nE 's/.* ([0-9]+) ms after the kill.*/\1/p')
check $([ -n "$line" ] && [ "$n" != "$m" ] && [ "${ms:-99999}" -le 1500 ]; echo $?) \
	"step 7: the other candidate takes over, measured within lease + 500 ms (${ms:-?} ms)" "line: '$line'"
has "^ 8\. the new master re-registered \"lobby\"; gamma calls it: welcome, from $n \(master, epoch [0-9]+\)$"
check $? "step 8: the lobby answers from the new master" "no such line"
has "^ 9\. restarted $m: it rejoined as a follower, $n stays master"
check $? "step 9: the killed node rejoins as a follower" "no such line"
has '^10\. stopped the nodes \(SIGTERM\) and Redis'
check $? "step 10: everything stopped" "no such line"

# The demo's own temp dir, named in its redis line (other runs may have theirs).
demo_dir=$(echo "$out" | grep -o '/tmp/skynode-demo\.[A-Za-z0-9]*' | head -1)
check $([ -n "$demo_dir" ] && [ ! -e "$demo_dir" ]; echo $?) \
	"the demo removes its temp dir" "left: ${demo_dir:-(not named in the output)}"
# This run's nodes carry its temp dir in their environment (DEMO_REDIS).
left=$(grep -las -- "${demo_dir:-/nonexistent}" /proc/[0-9]*/environ | wc -l)
check $([ "$left" = 0 ]; echo $?) "no demo node is left running" "$left processes"

[ "$failed" -eq 0 ]
