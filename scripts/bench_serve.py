"""The load benchmark of `aide serve` (see bench-serve.sh). Prints figures; asserts nothing.

Two kinds of growth, each measured alone and followed by CLIENTS event streams, in alternating
phases (alone, followed, alone, …) so each followed phase is compared with the alone phases either
side of it (a shared machine's load drifts; this cancels most of it):
- run: a real `aide run --resume` of a 2,000-node run (a tiny task, scripted answers, several
  workers), extended by RUN_GROW steps: the run's step rate, the figure the goal is about;
- flood: nodes committed as fast as the store takes them (AIDEBenchmarks grow-run): the worst case,
  far beyond any real run, which shows what the server costs per commit.
The clients are one process (non-blocking sockets on one selector): every one of them reads every
byte the server sends, and their CPU is reported apart from the server's.
"""
import argparse
import json
import os
import selectors
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

MARKER = b'event: nodes\ndata: {"commits":'
KEEP = 64  # bytes carried from one read to the next, so a marker split between reads is found


def follow(port, path, count):
    """The clients' process: `count` connections follow `path`; prints "ready" once each has its
    first event, reads until stdin closes, then prints, per connection, [commits, arrival time]
    for each `nodes` event (a page has every commit up to `commits` when it arrives)."""
    selector = selectors.DefaultSelector()
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode()
    buffers, arrivals, started = [], [], set()
    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
        buffers.append([bytearray(1 << 20), 0])  # buffer, bytes carried over
        arrivals.append([])
    selector.register(sys.stdin, selectors.EVENT_READ, -1)
    ready = False
    while True:
        for key, _ in selector.select():
            index = key.data
            if index == -1:
                if not sys.stdin.buffer.read1(4096):
                    print(json.dumps(arrivals), flush=True)
                    return
                continue
            buffer, kept = buffers[index]
            try:
                read = key.fileobj.recv_into(memoryview(buffer)[kept:])
            except BlockingIOError:
                continue
            if not read:
                selector.unregister(key.fileobj)
                continue
            now = time.time()
            end = kept + read
            if index not in started and buffer.find(b"event: status", 0, end) >= 0:
                started.add(index)
            last = arrivals[index][-1][0] if arrivals[index] else -1
            at = buffer.find(MARKER, 0, end)
            while at >= 0:
                digits = at + len(MARKER)
                comma = buffer.find(b",", digits, end)
                if comma < 0:
                    break
                commits = int(buffer[digits:comma])
                if commits > last:
                    arrivals[index].append([commits, now])
                    last = commits
                at = buffer.find(MARKER, comma, end)
            carried = min(KEEP, end)
            buffer[:carried] = buffer[end - carried:end]
            buffers[index][1] = carried
        if not ready and len(started) == count:
            ready = True
            print("ready", flush=True)


class Clients:
    """The clients' process, seen from the benchmark."""

    def __init__(self, script, port, path, count):
        self.process = subprocess.Popen(
            [sys.executable, script, "follow", str(port), path, str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the clients could not connect")

    def cpu(self):
        return cpu_seconds(self.process.pid)

    def finish(self):
        """Stops them; returns, per client, [commits, arrival time] of each `nodes` event."""
        self.process.stdin.close()
        out = self.process.stdout.read()
        self.process.wait(timeout=30)
        return json.loads(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    times = os.times()
    return times.children_user + times.children_system


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def flood(benchmarks, folder, count, pause_ms=0):
    """Adds `count` generated nodes; returns commits/s, the writer's CPU ms per commit, and each
    commit's time in commit order."""
    before = children_cpu()
    out = subprocess.run([benchmarks, "grow-run", folder, str(count), str(pause_ms)],
                         check=True, capture_output=True, text=True).stdout
    cpu = (children_cpu() - before) / count * 1000
    times, rate = [], None
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "commit":
            times.append(float(parts[2]))
        elif parts[0] == "rate":
            rate = float(parts[1])
    return rate, cpu, times


def quiet(command):
    """Runs a command whose output is of no interest unless it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s" % (" ".join(command[:3]), done.returncode, done.stderr[-2000:]))


def timestamp(text):
    return datetime.fromisoformat(text).timestamp()


def real_run(aide, folder, total, workers, answers):
    """Resumes the run in `folder` until it has `total` nodes; returns its steps per second (from
    the first new step's start to the last one's end, so the resume's start-up is left out), its
    CPU ms per step, and the wall time of the whole command."""
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(folder, "run.sqlite"), uri=True) as db:
        first = db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0]
    before, started = children_cpu(), time.time()
    quiet([aide, "run", "--resume", folder, "--steps", str(total), "--workers", str(workers), "--scripted", answers])
    wall, cpu = time.time() - started, children_cpu() - before
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(folder, "run.sqlite"), uri=True) as db:
        rows = db.execute("SELECT created_at, finished_at FROM nodes WHERE step >= ?", (first,)).fetchall()
    span = max(timestamp(r[1]) for r in rows) - min(timestamp(r[0]) for r in rows)
    return len(rows) / span, cpu / len(rows) * 1000, wall


TINY_SCRIPT = """Print a validation score and write a submission.
```python
import os, random
os.makedirs("working", exist_ok=True)
with open("working/submission.csv", "w") as f:
    f.write("id,y\\n1,2\\n")
print("Validation metric:", random.random())
```"""


def make_tiny_task(work, answers_count):
    """A task whose scripts take no time to speak of, and scripted answers for it."""
    task = os.path.join(work, "tiny")
    os.makedirs(os.path.join(task, "data"))
    with open(os.path.join(task, "data", "train.csv"), "w") as f:
        f.write("x,y\n1,2\n")
    with open(os.path.join(task, "task.yaml"), "w") as f:
        f.write("name: tiny\ngoal: Print a score.\ndata: data\nmetric:\n  name: score\n  direction: maximize\n"
                "exec:\n  python: python3\n")
    answers = os.path.join(work, "answers.jsonl")
    with open(answers, "w") as f:
        for _ in range(answers_count):
            f.write(json.dumps({"kind": "code", "text": TINY_SCRIPT}) + "\n")
            f.write(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "ok", "metric": 0.5}}) + "\n")
    return os.path.join(task, "task.yaml"), answers


def spread(values):
    return "median %.2f, min %.2f, max %.2f" % (statistics.median(values), min(values), max(values))


def load():
    return "load %.1f" % os.getloadavg()[0]


class Served:
    """`aide serve` on a runs folder with `count` clients following one run's events."""

    def __init__(self, aide, runs, key, after, count):
        self.port = free_port()
        self.server = subprocess.Popen([aide, "serve", runs, "--port", str(self.port)], stdout=subprocess.PIPE, text=True)
        self.server.stdout.readline()
        self.rss_idle = peak_rss_mb(self.server.pid)
        self.clients = Clients(os.path.abspath(__file__), self.port, "/api/runs/%s/events?after=%d" % (key, after), count)
        self.server_cpu, self.clients_cpu, self.started = cpu_seconds(self.server.pid), self.clients.cpu(), time.time()

    def usage(self):
        """The server's and the clients' CPU seconds since they started following, and the wall time."""
        return (cpu_seconds(self.server.pid) - self.server_cpu, self.clients.cpu() - self.clients_cpu,
                time.time() - self.started)

    def stop(self):
        rss = peak_rss_mb(self.server.pid)
        arrivals = self.clients.finish()
        self.server.terminate()
        self.server.wait(timeout=30)
        return rss, arrivals


def delays(arrivals, times, before):
    """Commit -> arrival for each client and commit (commit k of the phase is the run's commit
    `before` + k + 1); returns the sorted delays and how many never arrived."""
    found, missing = [], 0
    for events in arrivals:
        index = 0
        for k, committed in enumerate(times):
            while index < len(events) and events[index][0] < before + k + 1:
                index += 1
            if index < len(events):
                found.append(events[index][1] - committed)
            else:
                missing += 1
    return sorted(found), missing


def report_delays(title, found, missing):
    if found:
        print("%s: median %.3f s, p95 %.3f s, max %.3f s over %d arrivals (goal: < 1 s); %d never arrived"
              % (title, statistics.median(found), found[int(len(found) * 0.95)], found[-1], len(found), missing))
    else:
        print("%s: no node arrived" % title)


def ratios(alone, followed):
    return [f / ((alone[i] + alone[i + 1]) / 2) for i, f in enumerate(followed)]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "follow":
        follow(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--aide", required=True)
    parser.add_argument("--benchmarks", required=True)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--grow", type=int, default=600, help="nodes each flood phase adds")
    parser.add_argument("--run-grow", type=int, default=60, help="steps each real-run phase adds")
    parser.add_argument("--workers", type=int, default=4, help="the real run's search.workers")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="followed phases of each kind, each between two alone phases")
    parser.add_argument("--kinds", default="run,flood", help="run, flood or both")
    parser.add_argument("--paced", type=float, default=100,
                        help="ms between commits in the latency phase (a real step takes seconds)")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    aide, benchmarks = os.path.abspath(args.aide), os.path.abspath(args.benchmarks)

    work = tempfile.mkdtemp(prefix="aide-bench-serve.")
    try:
        templates = {}
        if "flood" in kinds:
            templates["flood"] = os.path.join(work, "flood-template", "generated-run")
            subprocess.run([benchmarks, "make-run", templates["flood"], str(args.nodes)], check=True)
        if "run" in kinds:
            # A real run of a few steps, padded to NODES with generated nodes under its own (so the
            # tree is one tree), then resumed by every phase.
            task, answers = make_tiny_task(work, args.run_grow + 50)
            runs = os.path.join(work, "run-template")
            started = time.time()
            quiet([aide, "run", task, "--scripted", answers, "--runs-dir", runs, "--steps", "20", "--workers",
                   str(args.workers)])
            templates["run"] = os.path.join(runs, os.listdir(runs)[0])
            subprocess.run([benchmarks, "pad-run", templates["run"], str(args.nodes)], check=True)
            print("a real run of 20 steps (%.0f s) padded to %d nodes; each phase resumes it for %d more steps, "
                  "%d workers, scripted answers" % (time.time() - started, args.nodes, args.run_grow, args.workers))
        if "flood" in kinds:
            print("a generated run of %d nodes; each flood phase adds %d, committed as fast as the store takes them"
                  % (args.nodes, args.grow))
        print("%d clients in one process; %s at the start" % (args.clients, load()))

        def fresh(kind, name):
            runs = os.path.join(work, name)
            shutil.rmtree(runs, ignore_errors=True)
            shutil.copytree(os.path.dirname(templates[kind]), runs, symlinks=True)
            return runs, os.path.join(runs, os.path.basename(templates[kind]))

        def grow(kind, folder):
            if kind == "run":
                rate, cpu, wall = real_run(aide, folder, args.nodes + args.run_grow, args.workers, answers)
                return rate, cpu, None, "%5.2f steps/s (aide run %.1f s, its CPU %.0f ms/step)" % (rate, wall, cpu)
            rate, cpu, times = flood(benchmarks, folder, args.grow)
            return rate, cpu, times, "%7.1f commits/s (writer CPU %.2f ms/commit)" % (rate, cpu)

        results = {kind: {"alone": [], "followed": [], "alone_cpu": [], "followed_cpu": [], "server": [], "clients": [], "server_per_1000": [],
                          "clients_per_1000": [], "delays": ([], 0)} for kind in kinds}
        rss, rss_idle, paced = 0, 0, None

        def alone(kind, round_):
            runs, folder = fresh(kind, "%s-alone-%d" % (kind, round_))
            rate, cpu, _, text = grow(kind, folder)
            results[kind]["alone"].append(rate)
            results[kind]["alone_cpu"].append(cpu)
            print("%-5s alone:        %s; %s" % (kind, text, load()), flush=True)

        for round_ in range(args.rounds):
            for kind in kinds:
                r = results[kind]
                alone(kind, round_)
                runs, folder = fresh(kind, "%s-followed-%d" % (kind, round_))
                served = Served(aide, runs, os.path.basename(folder), args.nodes, args.clients)
                rate, cpu, times, text = grow(kind, folder)
                r["followed_cpu"].append(cpu)
                server_cpu, clients_cpu, wall = served.usage()
                commits = args.grow if kind == "flood" else args.run_grow
                r["followed"].append(rate)
                r["server"].append(server_cpu / wall * 100)
                r["clients"].append(clients_cpu / wall * 100)
                r["server_per_1000"].append(server_cpu / commits * 1000)
                r["clients_per_1000"].append(clients_cpu / commits * 1000)
                print("%-5s followed:     %s; %s\n      the server used %.1f%% of a core (%.2f s CPU per 1,000 commits), "
                      "the %d clients %.1f%% (%.2f s)"
                      % (kind, text, load(), r["server"][-1], r["server_per_1000"][-1], args.clients, r["clients"][-1],
                         r["clients_per_1000"][-1]), flush=True)
                time.sleep(5)  # the last updates reach the clients (a loaded machine is slow)
                if kind == "flood" and round_ == args.rounds - 1:
                    # Then at a pace closer to a real run's (still far faster): how soon a node reaches the pages.
                    _, _, paced_times = flood(benchmarks, folder, 100, args.paced)
                    time.sleep(5)
                rss_phase, arrivals = served.stop()
                rss, rss_idle = max(rss, rss_phase), max(rss_idle, served.rss_idle)
                if times is not None:
                    found, missing = delays(arrivals, times, args.nodes)
                    r["delays"] = (sorted(r["delays"][0] + found), r["delays"][1] + missing)
                    if kind == "flood" and round_ == args.rounds - 1:
                        paced = delays(arrivals, paced_times, args.nodes + args.grow)
        for kind in kinds:
            alone(kind, args.rounds)

        print()
        for kind in kinds:
            r = results[kind]
            unit = "steps/s" if kind == "run" else "commits/s"
            rs = ratios(r["alone"], r["followed"])
            print("%-5s followed / alone: %s; median %.3f (goal: at least 0.95)"
                  % (kind, ", ".join("%.3f" % x for x in rs), statistics.median(rs)))
            print("      alone %s %s; followed %s" % (spread(r["alone"]), unit, spread(r["followed"])))
            print("      the %s's CPU per %s followed / alone: %.3f (medians %.2f / %.2f ms; more would mean the server "
                  "makes it work harder)" % ("run" if kind == "run" else "writer", "step" if kind == "run" else "commit",
                                             statistics.median(r["followed_cpu"]) / statistics.median(r["alone_cpu"]),
                                             statistics.median(r["followed_cpu"]), statistics.median(r["alone_cpu"])))
            print("      server: %.1f%% of a core, %.2f s CPU per 1,000 commits; clients: %.1f%%, %.2f s per 1,000 (medians)"
                  % (statistics.median(r["server"]), statistics.median(r["server_per_1000"]),
                     statistics.median(r["clients"]), statistics.median(r["clients_per_1000"])))
        print("server peak RSS: %.1f MB (%.1f MB before the clients)" % (rss, rss_idle))
        if "flood" in kinds:
            report_delays("commit -> client, commits as fast as possible", *results["flood"]["delays"])
            report_delays("commit -> client, a commit every %g ms" % args.paced, *paced)
        print("%s at the end" % load())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
