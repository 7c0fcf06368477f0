#!/usr/bin/env bash
# test_coord_redis_resign: the master handing its role over on request, on a
# real redis-server with three real nodes (lease 1000 ms): a `resign <node>`
# message on <prefix>:events and coord.resign() both end the term (reason
# resign), another node takes over at once, a non-master's resign is a no-op,
# and a lone candidate that resigns sits out one lease before it claims again.
set -u
source "$(dirname "$0")/lib.sh"
cl_init_with_redis
LEASE=1000

# check_handover HOW OLD NEW: the old term ended for resign and NEW began
# within 200 ms.
check_handover() {
	local how=$1 old=$2 new=$3 end begin
	wait_log "${old% *}" "COORD TERM END node=${old% *} epoch=${old#* } mono_ns=[0-9]+ reason=resign" 1000
	check $? "$how: the master's term ends with reason=resign" "$(grep 'TERM END' "$CL_DIR/${old% *}.log")"
	end=$(term_ns END "${old% *}" "${old#* }")
	begin=$(term_ns BEGIN "${new% *}" "${new#* }")
	if [ -n "$end" ] && [ -n "$begin" ]; then
		took=$(( (begin - end) / 1000000 ))
		check $(( took <= 200 && ${new#* } > ${old#* } ? 0 : 1 )) \
			"$how: ${new% *} takes over within 200 ms ($took ms), epoch ${old#* } -> ${new#* }" "took $took ms"
	else
		not_ok "$how: hand-over" "END '$end' BEGIN '$begin'"
	fi
}

nodes_start a b c
m=$(wait_agreed 3000 a b c)
check $? "three nodes agree on a master" "no agreement"

r=$(probe "${m% *}" lease)
check $([ "$r" -gt 0 ] 2>/dev/null && [ "$r" -le $LEASE ]; echo $?) "the master's coordd view shows the lease left ($r ms)" "got '$r'"
for n in a b c; do [ "$n" != "${m% *}" ] && other=$n; done
r=$(probe "$other" lease)
check $([ "$r" = "not master" ]; echo $?) "a non-master's view shows 'not master'" "got '$r'"

redis-cli -p "$REDIS_PORT" PUBLISH skynode:events "resign ${m% *}" >/dev/null
new=$(wait_agreed 2000 -not "$m" a b c)
check $? "after 'resign ${m% *}' on skynode:events another node is master" "still $(agreed_master a b c)"
check_handover "resign message" "$m" "$new"

for n in a b c; do [ "$n" != "${new% *}" ] && other=$n; done
r=$(probe "$other" resign)
check $([ "$r" = false ]; echo $?) "coord.resign() on a non-master answers false" "got '$r'"
r=$(probe "${new% *}" resign)
check $([ "$r" = true ]; echo $?) "coord.resign() on the master answers true" "got '$r'"
m=$new
new=$(wait_agreed 2000 -not "$m" a b c)
check $? "after coord.resign() another node is master" "still $(agreed_master a b c)"
check_handover "coord.resign()" "$m" "$new"

# A lone candidate: it sits out one lease, then claims again.
lone=${new% *}
for n in a b c; do
	[ "$n" != "$lone" ] && { node_signal $n TERM; node_wait_exit $n; }
done
r=$(probe "$lone" resign)
check $([ "$r" = true ]; echo $?) "the lone master resigns" "got '$r'"
again=$(wait_agreed $((LEASE + 1000)) -not "$new" "$lone")
check $? "the lone candidate is master again after its pause" "$(probe "$lone" master)"
end=$(term_ns END "$lone" "${new#* }")
begin=$(term_ns BEGIN "$lone" "${again#* }")
if [ -n "$end" ] && [ -n "$begin" ]; then
	gap=$(( (begin - end) / 1000000 ))
	check $(( gap >= LEASE - 20 && gap <= LEASE + 500 ? 0 : 1 )) \
		"it did not claim for one lease and claimed right after ($gap ms)" "gap $gap ms"
else
	not_ok "lone candidate pause" "END '$end' BEGIN '$begin'"
fi

terms_disjoint
check $? "no two master terms overlap and epochs increase" "$(terms | tr '\n' ';')"

cl_summary
