"""benchproc: processes for the benchmarks (tests/bench/run.sh).

Node: a skynode process started from a generated config; a reader thread
stamps every output line with time.monotonic_ns() (CLOCK_MONOTONIC, the clock
of skynet.hpc()) as it arrives, so waits are bounded and times are exact.
Redis: a private redis-server on a free port in a temp folder.
report(): prints one figure line: "<name> <value> <unit> runs=<n> median=<m> ...".
"""
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKYNODE = os.environ.get("SKYNODE", os.path.join(ROOT, "skynode"))
WORKDIR = tempfile.mkdtemp(prefix="skynode-bench.")
atexit.register(shutil.rmtree, WORKDIR, True)


def now_ns():
    return time.monotonic_ns()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_config(start, settings):
    lines = [
        'root = "%s/"' % ROOT,
        "harbor = 0",
        'start = "%s"' % start,
        'bootstrap = "snlua bootstrap"',
        'luaservice = root.."service/?.lua;"..root.."tests/bench/?.lua;"..root.."coord/?.lua"',
        'lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua;"'
        '..root.."tests/bench/?.lua;"..root.."coord/?.lua"',
    ]
    settings = dict({"thread": 2}, **settings)
    for key, value in settings.items():
        lines.append("%s = %s" % (key, value if isinstance(value, int) else '"%s"' % value))
    return "\n".join(lines) + "\n"


class Node:
    """One skynode process; lines holds (arrival_ns, text) of its output."""

    def __init__(self, name, start, **settings):
        self.name = name
        self.conf = os.path.join(WORKDIR, name + ".conf")
        with open(self.conf, "w") as f:
            f.write(node_config(start, settings))
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.started_ns = now_ns()
        self.proc = subprocess.Popen([SKYNODE, self.conf], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            stamp = now_ns()
            with self.cond:
                self.lines.append((stamp, raw.decode(errors="replace").rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def find(self, pattern, after=0):
        """The first (arrival_ns, match) at index >= after, or None."""
        for i in range(after, len(self.lines)):
            m = re.search(pattern, self.lines[i][1])
            if m:
                return self.lines[i][0], m
        return None

    def wait(self, pattern, timeout=10.0, after=0):
        """(arrival_ns, match) of the first line matching pattern; raises after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hit = self.find(pattern, after)
                if hit:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise TimeoutError("node %s: no line matching %r within %.1f s; last lines:\n%s"
                                       % (self.name, pattern, timeout, self.tail()))
                self.cond.wait(min(left, 0.05))

    def tail(self, n=10):
        return "\n".join(text for _, text in self.lines[-n:])

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGKILL (if still running) and reap; bounded."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (fields 14 and 15 of stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Redis:
    """A private redis-server (no persistence) on a free port."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis.", dir=WORKDIR)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addr = "127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 5
        while True:
            try:
                self.info("server")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server on port %d did not start; see %s"
                                       % (self.port, self.dir))
                time.sleep(0.01)

    def info(self, section):
        """INFO <section> as a dict."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"INFO %s\r\n" % section.encode())
            data = b""
            while b"\r\n" not in data:
                data += s.recv(65536)
            header, data = data.split(b"\r\n", 1)
            size = int(header[1:])
            while len(data) < size:
                data += s.recv(65536)
        pairs = (line.split(":", 1) for line in data[:size].decode().splitlines() if ":" in line)
        return dict(pairs)

    def load(self):
        """Counters for an idle-load figure: commands executed (script
        internals included), scripts run (EVAL/EVALSHA), input bytes, CPU ticks."""
        stats, commands = self.info("stats"), self.info("commandstats")
        scripts = sum(int(value.split(",")[0].split("=")[1])
                      for key, value in commands.items()
                      if key in ("cmdstat_eval", "cmdstat_evalsha"))
        return {"cmds": int(stats["total_commands_processed"]), "scripts": scripts,
                "net_in": int(stats["total_net_input_bytes"]), "cpu": cpu_ticks(self.proc.pid),
                "time": time.monotonic()}

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


def percentile(values, p):
    ordered = sorted(values)
    index = max(0, -(-len(ordered) * p // 100) - 1)
    return ordered[int(index)]


def fmt(value):
    return "%.3g" % value if abs(value) < 100 else "%d" % round(value)


def report(name, values, unit, extra=("min", "max")):
    """Prints the figure line: the median of the runs first, then details."""
    median = statistics.median(values)
    fields = ["runs=%d" % len(values), "median=%s" % fmt(median)]
    for key in extra:
        if key == "min":
            fields.append("min=%s" % fmt(min(values)))
        elif key == "max":
            fields.append("max=%s" % fmt(max(values)))
        else:
            fields.append("%s=%s" % (key, fmt(percentile(values, int(key[1:])))))
    print(name, fmt(median), unit, " ".join(fields), flush=True)


def cleanup(things):
    for thing in things:
        try:
            thing.stop()
        except Exception:
            pass


def terminate_on_signals():
    """SIGTERM/SIGINT raise SystemExit, so finally blocks stop every child."""
    def leave(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
