#!/usr/bin/env bash
# test_coord_redis_election: master election on a real redis-server with three
# real nodes (lease 1000 ms): one master agreed by all, fail-over after
# SIGKILL, hand-over on a clean stop, a paused master stepping down by
# itself, and no two master terms overlapping (COORD TERM lines).
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000

others() {
	local n
	for n in a b c; do [ "$n" != "$1" ] && echo "$n"; done
}

nodes_start a b c

m=$(wait_agreed 3000 a b c)
check $? "three nodes elect one master and agree on it and its epoch" "no agreement: $(for n in a b c; do echo -n "$n=[$(probe $n master)] "; done)"
masters=$(grep -l "COORD TERM BEGIN" "$CL_DIR"/*.log | wc -l)
check $((masters == 1 ? 0 : 1)) "exactly one node began a term" "$masters nodes logged TERM BEGIN"

# SIGKILL of the master.
old=${m% *}; old_epoch=${m#* }
t_kill=$(mono_ns)
node_signal "$old" KILL
node_wait_exit "$old"
set -- $(others "$old")
m=$(wait_agreed $((LEASE + 2000)) -not "$old $old_epoch" "$@")
check $? "after SIGKILL of the master the others agree on a new one" "no agreement"
new=${m% *}; new_epoch=${m#* }
took=$(( ($(term_ns BEGIN "$new" "$new_epoch") - t_kill) / 1000000 ))
check $(( took <= LEASE + 500 ? 0 : 1 )) "fail-over after SIGKILL within lease + 500 ms ($took ms)" "took $took ms"
check $(( new_epoch > old_epoch ? 0 : 1 )) "the new epoch is above the old" "$old_epoch -> $new_epoch"
node_start "$old" || not_ok "node $old restarts" "no probe start line"

# Clean stop of the master.
m=$(wait_agreed 2000 a b c)
old=${m% *}; old_epoch=${m#* }
node_signal "$old" TERM
node_wait_exit "$old"
check $? "the stopped master exits" "still running after 5 s"
end=$(grep -oE "COORD TERM END node=$old epoch=$old_epoch mono_ns=[0-9]+ reason=stop" "$CL_DIR/$old.log" | sed -E 's/.*mono_ns=([0-9]+).*/\1/')
set -- $(others "$old")
m=$(wait_agreed 2000 -not "$old $old_epoch" "$@")
new=${m% *}; new_epoch=${m#* }
if [ -n "$end" ] && [ -n "$m" ]; then
	took=$(( ($(term_ns BEGIN "$new" "$new_epoch") - end) / 1000000 ))
	check $(( took <= 200 ? 0 : 1 )) "hand-over after a clean stop within 200 ms ($took ms)" "took $took ms"
else
	not_ok "hand-over after a clean stop" "END line: '$end', new master: '$m'"
fi
node_start "$old" || not_ok "node $old restarts" "no probe start line"

# SIGSTOP of the master for 2 x lease, then SIGCONT.
m=$(wait_agreed 2000 a b c)
old=${m% *}; old_epoch=${m#* }
node_signal "$old" STOP
sleep $(( 2 * LEASE / 1000 ))
node_signal "$old" CONT
wait_log "$old" "COORD TERM END node=$old epoch=$old_epoch .*reason=(deadline|taken)" 2000
check $? "the paused master stepped down by itself" "no END line for epoch $old_epoch"
m=$(wait_agreed 3000 -not "$old $old_epoch" a b c)
check $? "after SIGCONT all three agree on the master" "no agreement"
check $([ "${m% *}" != "$old" ] || [ "${m#* }" -gt "$old_epoch" ]; echo $?) \
	"the master after the pause has a new term" "still $m"

terms_disjoint
check $? "no two master terms overlap and epochs increase (all COORD TERM lines)" "$(terms | tr '\n' ';')"

cl_summary
