#!/usr/bin/env bash
# test_coord_redis_faults: 20 random faults on three real nodes and a real
# redis-server (lease 1000 ms), then the safety of the whole run is checked
# from every node's COORD TERM lines, and all nodes must agree on one master.
#
# Faults (picked at random): SIGKILL a node and restart it; SIGSTOP a node
# for 0.5-2.5 s then SIGCONT; Redis restarted empty; Redis stopped for longer
# than the lease, then started (empty too: no persistence).
#
# The random choices come from SEED (printed; SEED=<n> replays the same
# sequence of faults; the timing of the processes is never the same).
#
# Rules checked over all terms, sorted by their BEGIN mono_ns (CLOCK_MONOTONIC,
# the same clock for every process on the host):
#   * epochs strictly increase;
#   * each term ends before the next one begins.
# Where a term ends: its END line (for reason=deadline that is the deadline,
# even if the process was paused past it).  A node killed with SIGKILL logs
# no END: its term ended at the latest when the process died, which is also
# never later than its deadline (last renewal + lease - margin): the script
# records the kill time (mono_ns once the process is reaped, so a little after
# it really died) and takes it as the END of that node's open term.  Redis
# holds the master key for a full lease after the last renewal, so the next
# term can only begin well after that bound.  A term still open at the end of
# the run must belong to the current master; it ends "now".
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000
FAULTS=${FAULTS:-20}
SEED=${SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "# seed $SEED (replay with SEED=$SEED)"
NODES=(a b c)
KILLS=$CL_DIR/kills    # "node mono_ns" per SIGKILL

# rand LOW HIGH: an integer in [LOW, HIGH].
rand() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }
pick_node() { echo "${NODES[$((RANDOM % 3))]}"; }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

fault_kill() {
	local n=$1 pause=$2
	echo "# fault: SIGKILL $n, restart after $pause ms"
	node_signal "$n" KILL
	node_wait_exit "$n"
	echo "$n $(mono_ns)" >>"$KILLS"
	sleep_ms "$pause"
	node_start "$n" || not_ok "node $n restarts" "no probe start line within 5 s"
}

fault_stop() {
	local n=$1 pause=$2
	echo "# fault: SIGSTOP $n for $pause ms"
	node_signal "$n" STOP
	sleep_ms "$pause"
	node_signal "$n" CONT
}

fault_redis_empty() {
	echo "# fault: redis restarted empty"
	redis_kill
	redis_relaunch >/dev/null || not_ok "redis restarts" "see $REDIS_DIR/redis.log"
}

fault_redis_down() {
	local pause=$1
	echo "# fault: redis down for $pause ms"
	redis_kill
	sleep_ms "$pause"
	redis_relaunch >/dev/null || not_ok "redis restarts" "see $REDIS_DIR/redis.log"
}

# check_terms NOW_NS: the rules above, one ok / not ok line each.
check_terms() {
	python3 - "$CL_DIR" "$KILLS" "$1" <<'PY'
import glob, re, sys
folder, kills_file, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
line_re = re.compile(r'COORD TERM (BEGIN|END) node=(\S+) epoch=(\d+) mono_ns=(\d+)')
events = []
for path in glob.glob(folder + '/*.log'):
    for line in open(path, errors='replace'):
        m = line_re.search(line)
        if m:
            events.append((int(m.group(4)), m.group(1), m.group(2), int(m.group(3))))
kills = []
try:
    for line in open(kills_file):
        node, ns = line.split()
        kills.append((int(ns), node))
except FileNotFoundError:
    pass
# Pair BEGIN and END per node and epoch; an open term ends at its node's
# first SIGKILL after its BEGIN, else now.
terms, open_terms, problems = [], {}, []
for ns, what, node, epoch in sorted(events):
    if what == 'BEGIN':
        open_terms[(node, epoch)] = len(terms)
        terms.append([ns, None, node, epoch, ''])
    else:
        i = open_terms.pop((node, epoch), None)
        if i is None:
            problems.append('END without BEGIN: %s epoch %d' % (node, epoch))
        else:
            terms[i][1] = ns
for (node, epoch), i in open_terms.items():
    after = [k for k, n in sorted(kills) if n == node and k > terms[i][0]]
    terms[i][1], terms[i][4] = (after[0], ' (killed)') if after else (now, ' (open)')
terms.sort()
for t in terms:
    print('# term %-2s epoch %-3d %d .. %d%s' % (t[2], t[3], t[0], t[1], t[4]))
bad = list(problems)
for prev, cur in zip(terms, terms[1:]):
    if cur[3] <= prev[3]:
        bad.append('epoch %d of %s follows epoch %d of %s' % (cur[3], cur[2], prev[3], prev[2]))
    if cur[0] <= prev[1]:
        bad.append('%s epoch %d began %.1f ms before %s epoch %d ended' %
                   (cur[2], cur[3], (prev[1] - cur[0]) / 1e6, prev[2], prev[3]))
opened = [t for t in terms if t[4] == ' (open)']
if len(opened) > 1:
    bad.append('%d terms still open' % len(opened))
def report(good, name, why):
    print(('ok - ' if good else 'not ok - ') + name + ('' if good else ': ' + why))
report(len(terms) > 0, '%d master terms over the run' % len(terms), 'no COORD TERM lines')
report(not bad, 'no two terms overlap, epochs strictly increase, one term open at most', '; '.join(bad))
PY
}

nodes_start "${NODES[@]}"
sleep_ms 1500
started=$(date +%s)
for i in $(seq 1 "$FAULTS"); do
	case $((RANDOM % 4)) in
		0) fault_kill "$(pick_node)" "$(rand 0 800)" ;;
		1) fault_stop "$(pick_node)" "$(rand 500 2500)" ;;
		2) fault_redis_empty ;;
		3) fault_redis_down "$(rand $((LEASE + 200)) $((LEASE + 1000)))" ;;
	esac
	sleep_ms "$(rand 200 1000)"
done
echo "# $FAULTS faults in $(( $(date +%s) - started )) s"

for n in "${NODES[@]}"; do
	kill -0 "${NODE_PID[$n]:-0}" 2>/dev/null
	check $? "node $n is running at the end" "it is gone"
done
m=$(wait_agreed 10000 "${NODES[@]}")
check $([ -n "$m" ]; echo $?) "at the end all nodes agree on one master ($m)" \
	"$(for n in "${NODES[@]}"; do echo -n "$n=[$(probe $n master)] "; done)"
check_terms "$(mono_ns)" | tee "$CL_DIR/terms.out"
CL_FAILED=$((CL_FAILED + $(grep -c '^not ok' "$CL_DIR/terms.out")))

cl_summary
