"""The load benchmark of `aide serve` (see bench-serve.sh). Prints figures; asserts nothing."""
import argparse
import json
import os
import re
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


def grow(benchmarks, folder, count, pause_ms=0):
    out = subprocess.run([benchmarks, "grow-run", folder, str(count), str(pause_ms)],
                         check=True, capture_output=True, text=True).stdout
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aide", required=True)
    parser.add_argument("--benchmarks", required=True)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--grow", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
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

        runs, folder = fresh("alone-1")
        alone1, _ = grow(args.benchmarks, folder, args.grow)
        print("alone:              %8.2f commits/s" % alone1)

        runs, folder = fresh("followed")
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
        followed, commits = grow(args.benchmarks, folder, args.grow)
        time.sleep(3)  # the last updates reach the clients
        flood = delays(clients, commits)
        for client in clients:
            client.events = []
        # Then at a pace closer to a real run's (still far faster): how soon a node reaches the pages.
        _, paced = grow(args.benchmarks, folder, min(args.grow, 100), args.paced)
        time.sleep(3)
        rss = peak_rss_mb(server.pid)
        for client in clients:
            client.stop = True
        server.terminate()
        server.wait(timeout=30)
        print("followed by %2d:     %8.2f commits/s" % (args.clients, followed))

        runs, folder = fresh("alone-2")
        alone2, _ = grow(args.benchmarks, folder, args.grow)
        print("alone again:        %8.2f commits/s" % alone2)
        alone = (alone1 + alone2) / 2
        print("followed / alone:   %8.3f (goal: at least 0.95; alone varies by %.1f%% between its two runs)"
              % (followed / alone, abs(alone1 - alone2) / alone * 100))
        print("server peak RSS:    %8.1f MB (%.1f MB before the clients)" % (rss, rss_idle))

        report("commit -> client, commits as fast as possible", flood)
        report("commit -> client, a commit every %g ms" % args.paced, delays(clients, paced))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
