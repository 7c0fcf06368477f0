"""bench_coord: the coordinator figures of `make bench` (Redis backend, a
private redis-server each time, lease 1000 ms unless noted).

  failover LEASE_MS   SIGKILL the master -> another node logs COORD TERM BEGIN
  handover            SIGTERM the master -> another node logs COORD TERM BEGIN
  propagation         register on A (hpc before the call) -> B's coord.watch
  commands            Redis commands/s sent by one idle node, 0 and 10 000 names
  join                50 nodes (thread = 1) until each lists all 50 in coord.nodes()

Usage: python3 bench_coord.py GROUP [ARG]...   (BENCH_COORD_RUNS: runs, default 20)
"""
import os
import re
import signal
import sys
import time

from benchproc import Node, Redis, cleanup, cpu_ticks, now_ns, report, terminate_on_signals

RUNS = int(os.environ.get("BENCH_COORD_RUNS", 20))
TERM_BEGIN = r"COORD TERM BEGIN node=(\S+) epoch=(\d+) mono_ns=(\d+)"


def coord_node(redis, name, lease_ms=1000, role="member", **settings):
    return Node(name, "bench_coord", nodename=name, coordinator="redis",
                coord_redis=redis.addr, coord_lease_ms=lease_ms, bench_role=role, **settings)


def latest_term(nodes):
    """(epoch, node name, begin mono_ns) of the highest epoch any node began."""
    best = None
    for node in nodes.values():
        for _, text in node.lines:
            m = re.search(TERM_BEGIN, text)
            if m and (best is None or int(m.group(2)) > best[0]):
                best = (int(m.group(2)), m.group(1), int(m.group(3)))
    return best


def wait_term_above(nodes, epoch, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        term = latest_term(nodes)
        if term and term[0] > epoch:
            return term
        time.sleep(0.005)
    raise TimeoutError("no master term above epoch %d within %.1f s" % (epoch, timeout))


def master_changes(sig, lease_ms, runs):
    """ms from sending sig to the master until another node begins a term."""
    redis = Redis()
    nodes = {}
    try:
        for name in ("a", "b", "c"):
            nodes[name] = coord_node(redis, name, lease_ms)
            nodes[name].wait("^READY", 10)
        took = []
        term = wait_term_above(nodes, 0, 3 * lease_ms / 1000 + 2)
        for _ in range(runs):
            epoch, master, _ = term
            sent = now_ns()
            nodes[master].signal(sig)
            term = wait_term_above(nodes, epoch, 3 * lease_ms / 1000 + 2)
            took.append((term[2] - sent) / 1e6)
            nodes[master].proc.wait(timeout=5)
            nodes[master] = coord_node(redis, master, lease_ms)
            nodes[master].wait("^READY", 10)
            time.sleep(0.2)
        return took
    finally:
        cleanup(list(nodes.values()) + [redis])


def failover(lease_ms="1000"):
    lease = int(lease_ms)
    report("coord_crash_failover_lease%d" % lease,
           master_changes(signal.SIGKILL, lease, RUNS), "ms", extra=("p99", "max"))


def handover():
    report("coord_clean_handover", master_changes(signal.SIGTERM, 1000, RUNS), "ms",
           extra=("p99", "max"))


def propagation():
    redis = Redis()
    watcher = source = None
    try:
        watcher = coord_node(redis, "w", role="watch")
        watcher.wait("^READY", 10)
        source = coord_node(redis, "s", role="register", bench_peer="w", bench_names=200)
        source.wait("^REGISTERED", 30)
        watcher.wait(r"^SEEN s\.200 ", 5)
        seen = {}
        for _, text in watcher.lines:
            parts = text.split()
            if parts[:1] == ["SEEN"]:
                seen[parts[1]] = int(parts[2])
        delays = []
        for _, text in source.lines:
            parts = text.split()
            if parts[:1] == ["REG"]:
                delays.append((seen[parts[1]] - int(parts[2])) / 1e3)
    finally:
        cleanup([n for n in (source, watcher) if n] + [redis])
    report("coord_name_propagation", delays, "us", extra=("p50", "p99", "max"))


def commands():
    """One node per (names, lease) pair, each on its own Redis, measured
    together: commands executed by Redis (script internals included), scripts
    run, bytes received, CPU of Redis and of the node."""
    cases = [(0, 1000), (10000, 1000), (0, 3000), (10000, 3000)]
    setups = []
    try:
        for names, lease in cases:
            redis = Redis()
            setups.append((names, lease, redis, coord_node(redis, "n", lease, "names",
                                                           bench_names=names)))
        for _, _, _, node in setups:
            node.wait("^READY", 60)
        time.sleep(2)
        before = [dict(s[2].load(), node_cpu=cpu_ticks(s[3].proc.pid)) for s in setups]
        time.sleep(10)
        after = [dict(s[2].load(), node_cpu=cpu_ticks(s[3].proc.pid)) for s in setups]
    finally:
        cleanup([s[3] for s in setups] + [s[2] for s in setups])
    hz = os.sysconf("SC_CLK_TCK")
    for (names, lease, _, _), b, a in zip(setups, before, after):
        seconds = a["time"] - b["time"]
        label = "coord_idle_redis_names%d_lease%d" % (names, lease)
        # the deltas include the first INFO pair of this measurement: one
        # INFO stats + one INFO commandstats command.
        report(label + "_cmds", [(a["cmds"] - b["cmds"] - 2) / seconds], "cmds/s", extra=())
        report(label + "_scripts", [(a["scripts"] - b["scripts"]) / seconds], "evals/s", extra=())
        report(label + "_net_in", [(a["net_in"] - b["net_in"]) / seconds / 1e3], "kB/s", extra=())
        for key, what in (("cpu", "_redis_cpu"), ("node_cpu", "_node_cpu")):
            report(label + what, [100.0 * (a[key] - b[key]) / hz / seconds], "%core", extra=())

def join(count="50"):
    count = int(count)
    redis = Redis()
    nodes = []
    try:
        first = now_ns()
        for i in range(count):
            nodes.append(coord_node(redis, "j%02d" % i, 1000, "join", thread=1,
                                    bench_expect=count))
        last = now_ns()
        done = max(int(n.wait(r"^ALL (\d+)", 60)[1].group(1)) for n in nodes)
    finally:
        cleanup(nodes + [redis])
    report("coord_join_%d_nodes" % count, [(done - first) / 1e6], "ms", extra=())
    report("coord_join_%d_nodes_after_last_exec" % count, [(done - last) / 1e6], "ms", extra=())


GROUPS = {"failover": failover, "handover": handover, "propagation": propagation,
          "commands": commands, "join": join}

if __name__ == "__main__":
    terminate_on_signals()
    GROUPS[sys.argv[1]](*sys.argv[2:])
