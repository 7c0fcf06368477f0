#!/bin/bash
# tests/bench/run.sh: the benchmarks of `make bench`.  Prints one line per
# figure, "<name> <value> <unit> runs=<n> median=<m> ...", where value is the
# median of the runs.  Runtime figures: bench_runtime.py (local calls, the
# cluster transport between two nodes on loopback, start-up / exit, idle
# node); coordinator figures: bench_coord.py (Redis backend, private
# redis-server).  Every group ends by itself (and is cut off after 5 min);
# the exit status is non-zero when a group failed.
# Environment: SKYNODE (binary, default ./skynode), BENCH_RUNS (runs of the
# runtime figures, 3), BENCH_SECONDS (length of one measured loop, 1),
# BENCH_COORD_RUNS (fail-over / hand-over runs, 20).
set -u
here=$(cd "$(dirname "$0")" && pwd)
failed=0
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the checkout

group() {
	timeout -s TERM 300 python3 "$here/$1" "${@:2}" || {
		echo "# FAILED: $* (status $?)"
		failed=1
	}
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "# skynode benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores ($cpu)," \
	"kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
group bench_runtime.py local cluster startexit idle
group bench_coord.py failover 1000
group bench_coord.py failover 3000
group bench_coord.py handover
group bench_coord.py propagation
group bench_coord.py commands
group bench_coord.py join 50
exit $failed
