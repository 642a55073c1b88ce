"""The load benchmark of `aide serve` (see bench-serve.sh). Prints figures; asserts nothing."""
import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client(threading.Thread):
    """Follows a run's event stream; keeps each `nodes` event's arrival time and data."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.events = []
        self.connected = threading.Event()
        self.stop = False

    def run(self):
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (self.path, self.port)).encode())
        sock.settimeout(1)
        buffer = b""
        while not self.stop:
            try:
                chunk = sock.recv(1 << 16)
            except socket.timeout:
                continue
            if not chunk:
                break
            now = time.time()
            buffer += chunk
            if b"event: status" in buffer:
                self.connected.set()
            # Chunked framing is left in; only whole `data:` lines of `nodes` events are kept.
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                if b"event: nodes" in event:
                    self.events.append((now, event))
        sock.close()

    def arrivals(self):
        """Node id -> first arrival time."""
        seen = {}
        for at, event in self.events:
            for node_id in re.findall(rb'"id":"([0-9a-f]{8})"', event):
                seen.setdefault(node_id.decode(), at)
        return seen


def grow(benchmarks, folder, count, pause_ms=0, cpu=None):
    """Adds `count` nodes; returns commits/s and node id -> commit time. Appends the writer's CPU
    milliseconds per commit to `cpu`: unlike its rate, barely moved by other processes' load, and
    raised by any work the readers cause it (a WAL that cannot be checkpointed, lock waits spun)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([benchmarks, "grow-run", folder, str(count), str(pause_ms)],
                         check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / count * 1000)
    commits = {}
    rate = None
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "commit":
            commits[parts[1]] = float(parts[2])
        elif parts[0] == "rate":
            rate = float(parts[1])
    return rate, commits


def delays(clients, commits):
    found, missing = [], 0
    for client in clients:
        seen = client.arrivals()
        for node_id, committed in commits.items():
            if node_id in seen:
                found.append(seen[node_id] - committed)
            else:
                missing += 1
    return sorted(found), missing


def report(title, measured):
    found, missing = measured
    if found:
        print("%s: median %.3f s, p95 %.3f s, max %.3f s over %d arrivals (goal: < 1 s); %d never arrived"
              % (title, statistics.median(found), found[int(len(found) * 0.95)], found[-1], len(found), missing))
    else:
        print("%s: no node arrived" % title)


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aide", required=True)
    parser.add_argument("--benchmarks", required=True)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--grow", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="followed phases, each between two alone phases")
    parser.add_argument("--paced", type=float, default=100,
                        help="ms between commits in the latency phase (a real step takes seconds)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="aide-bench-serve.")
    try:
        template = os.path.join(work, "template", "generated-run")
        subprocess.run([args.benchmarks, "make-run", template, str(args.nodes)], check=True)
        print("a generated run of %d nodes; each phase adds %d, committed as fast as the store takes them" % (args.nodes, args.grow))

        def fresh(name):
            runs = os.path.join(work, name)
            shutil.copytree(os.path.dirname(template), runs)
            return runs, os.path.join(runs, "generated-run")

        # Alone and followed phases alternate (A F A F … A), each followed phase compared with the
        # alone phases either side of it: a shared machine's load drifts, and this cancels most of it.
        alone, followed, flood = [], [], ([], 0)
        alone_cpu, followed_cpu = [], []
        for round_ in range(args.rounds):
            runs, folder = fresh("alone-%d" % round_)
            alone.append(grow(args.benchmarks, folder, args.grow, cpu=alone_cpu)[0])
            print("alone:              %8.2f commits/s (writer CPU %.2f ms/commit)" % (alone[-1], alone_cpu[-1]))

            runs, folder = fresh("followed-%d" % round_)
            port = free_port()
            server = subprocess.Popen([args.aide, "serve", runs, "--port", str(port)], stdout=subprocess.PIPE, text=True)
            server.stdout.readline()
            rss_idle = peak_rss_mb(server.pid)
            clients = [Client(port, "/api/runs/generated-run/events?after=%d" % args.nodes) for _ in range(args.clients)]
            for client in clients:
                client.start()
            for client in clients:
                if not client.connected.wait(30):
                    raise SystemExit("a client could not connect")
            server_cpu, clients_cpu, started = cpu_seconds(server.pid), sum(os.times()[:2]), time.time()
            rate, commits = grow(args.benchmarks, folder, args.grow, cpu=followed_cpu)
            server_cpu, clients_cpu = cpu_seconds(server.pid) - server_cpu, sum(os.times()[:2]) - clients_cpu
            wall = time.time() - started
            followed.append(rate)
            print("followed by %2d:     %8.2f commits/s (writer CPU %.2f ms/commit; the server used %.0f%% of a core, the clients %.0f%%)"
                  % (args.clients, rate, followed_cpu[-1], server_cpu / wall * 100, clients_cpu / wall * 100))
            time.sleep(3)  # the last updates reach the clients
            found, missing = delays(clients, commits)
            flood = (sorted(flood[0] + found), flood[1] + missing)
            last = round_ == args.rounds - 1
            if last:
                # Then at a pace closer to a real run's (still far faster): how soon a node reaches the pages.
                for client in clients:
                    client.events = []
                _, paced_commits = grow(args.benchmarks, folder, min(args.grow, 100), args.paced)
                time.sleep(3)
                paced = delays(clients, paced_commits)
                rss = peak_rss_mb(server.pid)
            for client in clients:
                client.stop = True
            server.terminate()
            server.wait(timeout=30)
        runs, folder = fresh("alone-last")
        alone.append(grow(args.benchmarks, folder, args.grow, cpu=alone_cpu)[0])
        print("alone:              %8.2f commits/s (writer CPU %.2f ms/commit)" % (alone[-1], alone_cpu[-1]))

        ratios = [f / ((alone[i] + alone[i + 1]) / 2) for i, f in enumerate(followed)]
        print("followed / alone:   %s; median %.3f (goal: at least 0.95)"
              % (", ".join("%.3f" % r for r in ratios), statistics.median(ratios)))
        print("writer CPU/commit:  followed / alone %.3f (medians: %.2f / %.2f ms)"
              % (statistics.median(followed_cpu) / statistics.median(alone_cpu), statistics.median(followed_cpu),
                 statistics.median(alone_cpu)))
        print("alone varies:       %.0f%% between its fastest and slowest phase (the machine's noise)"
              % ((max(alone) - min(alone)) / statistics.median(alone) * 100))
        print("server peak RSS:    %8.1f MB (%.1f MB before the clients)" % (rss, rss_idle))

        report("commit -> client, commits as fast as possible", flood)
        report("commit -> client, a commit every %g ms" % args.paced, paced)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
