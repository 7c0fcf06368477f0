"""bench_runtime: the runtime figures of `make bench`.

  local      skynet.call (1 and 16 coroutines), skynet.send at the receiver
  cluster    two nodes on loopback: cluster.call latency, 64 callers,
             cluster.send at the receiver, 1 MiB up, 100 KiB / 1 MiB echoed
  startexit  exec -> first line of the start service; skynet.abort() -> exit
  idle       RSS after 2 s idle, CPU over 10 s (all threads, schedstat)

Usage: python3 bench_runtime.py GROUP...   (runs: BENCH_RUNS, default 3)
"""
import os
import sys
import time

from benchproc import Node, cleanup, free_port, now_ns, report, terminate_on_signals, WORKDIR

RUNS = int(os.environ.get("BENCH_RUNS", 3))
SECONDS = os.environ.get("BENCH_SECONDS", "1")


def results(node, names, timeout):
    """{name: value} from the RESULT lines of node, once it has exited."""
    node.proc.wait(timeout=timeout)
    node.wait("^RESULT %s " % names[-1], timeout=1)
    found = {}
    for _, text in node.lines:
        parts = text.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            found[parts[1]] = float(parts[2])
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError("node %s gave no result for %s; output:\n%s"
                           % (node.name, missing, node.tail(20)))
    return found


def collect(run_once, figures):
    """Runs run_once() RUNS times and reports each (name, unit, label)."""
    runs = [run_once() for _ in range(RUNS)]
    for name, unit, label in figures:
        report(label, [r[name] for r in runs], unit)


def local():
    def once():
        node = Node("local", "bench_local", bench_seconds=SECONDS)
        try:
            return results(node, ["local_call_1co", "local_call_16co", "local_send"], 60)
        finally:
            node.stop()
    collect(once, [("local_call_1co", "calls/s", "local_call_1co"),
                   ("local_call_16co", "calls/s", "local_call_16co"),
                   ("local_send", "msgs/s", "local_send")])


def cluster():
    def once():
        conf = os.path.join(WORKDIR, "cluster.conf")
        with open(conf, "w") as f:
            f.write('a = "127.0.0.1:%d"\nb = "127.0.0.1:%d"\n' % (free_port(), free_port()))
        server = Node("b", "bench_cluster_server", cluster=conf)
        client = None
        try:
            server.wait("^READY", 10)
            client = Node("a", "bench_cluster_client", cluster=conf, bench_seconds=SECONDS)
            return results(client, ["cluster_call_p50", "cluster_call_p99", "cluster_call_64co",
                                    "cluster_send", "cluster_up_1m", "cluster_echo_100k",
                                    "cluster_echo_1m"], 120)
        finally:
            cleanup([n for n in (client, server) if n])
    collect(once, [("cluster_call_p50", "us", "cluster_call_1co_p50"),
                   ("cluster_call_p99", "us", "cluster_call_1co_p99"),
                   ("cluster_call_64co", "calls/s", "cluster_call_64co"),
                   ("cluster_send", "msgs/s", "cluster_send"),
                   ("cluster_up_1m", "MB/s", "cluster_call_1MiB_up"),
                   ("cluster_echo_100k", "MB/s", "cluster_call_100KiB_echo"),
                   ("cluster_echo_1m", "MB/s", "cluster_call_1MiB_echo")])


def startexit():
    starts, exits = [], []
    for i in range(10):
        node = Node("start%d" % i, "bench_start")
        try:
            started_at, _ = node.wait("^STARTED", 10)
            _, m = node.wait(r"^ABORT (\d+)", 10)
            node.proc.wait(timeout=10)
            exited_at = now_ns()
        finally:
            node.stop()
        starts.append((started_at - node.started_ns) / 1e6)
        exits.append((exited_at - int(m.group(1))) / 1e6)
    report("startup_to_main", starts, "ms")
    report("exit_after_abort", exits, "ms")


def cpu_ns(pid):
    """CPU time of every thread of a process, in ns (schedstat, finer than stat)."""
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
            total += int(f.read().split()[0])
    return total


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def idle():
    node = Node("idle", "bench_idle")
    try:
        node.wait("^READY", 10)
        time.sleep(2)
        rss = rss_mib(node.proc.pid)
        cpu0, t0 = cpu_ns(node.proc.pid), now_ns()
        time.sleep(10)
        cpu1, t1 = cpu_ns(node.proc.pid), now_ns()
    finally:
        node.stop()
    report("idle_rss", [rss], "MiB", extra=())
    report("idle_cpu", [100.0 * (cpu1 - cpu0) / (t1 - t0)], "%core", extra=())


GROUPS = {"local": local, "cluster": cluster, "startexit": startexit, "idle": idle}

if __name__ == "__main__":
    terminate_on_signals()
    for group in sys.argv[1:]:
        GROUPS[group]()
