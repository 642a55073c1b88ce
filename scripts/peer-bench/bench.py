"""aide against aideml (WecoAI's AIDE, from PyPI) on the same task, the same answers and the same
model latency; driven by scripts/peer-bench.sh, which builds aide and makes aideml's venv.

One loopback server (server.py) answers both harnesses after a fixed delay per call. Each harness
runs the same number of steps on the same tiny CSV task; for each run this prints the nodes made,
how many were buggy, the LLM calls the server saw, wall time, nodes per minute, the ratio to aideml,
and peak RSS: of the harness's own process (VmHWM polled from /proc) and of the largest process in
its tree (wait4's ru_maxrss, what /usr/bin/time -v reports). Standard library only.
"""

import argparse
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "peer-bench-model"
GOAL = "Predict y for each row of test.csv from the feature x."
EVAL = "Root mean squared error of y, lower is better."


def make_task(root, steps, python):
    data = root / "task" / "data"
    data.mkdir(parents=True)
    rng = random.Random(0)
    with open(data / "train.csv", "w") as out:
        out.write("id,x,y\n")
        for i in range(200):
            x = rng.uniform(0, 10)
            out.write(f"{i},{x:.4f},{2 * x + rng.gauss(0, 1):.4f}\n")
    with open(data / "test.csv", "w") as out:
        out.write("id,x\n")
        for i in range(200, 250):
            out.write(f"{i},{rng.uniform(0, 10):.4f}\n")
    # The same search settings as aideml's defaults (config.yaml): 5 drafts, debug_prob 0.5, depth 3.
    (root / "task" / "task.yaml").write_text(
        f"""name: peer-bench
goal: {GOAL}
description: {EVAL}
data: data
metric: {{name: validation RMSE, direction: minimize}}
budget: {{steps: {steps}, script_timeout: 60}}
agent: {{code_model: {MODEL}, feedback_model: {MODEL}}}
search: {{num_drafts: 5, debug_prob: 0.5, max_debug_depth: 3}}
exec: {{python: {python}}}
""")
    return root / "task"


def clean_env():
    """The environment without any key or base URL: nothing here may reach a real provider."""
    secret = re.compile(r"(API_KEY|_TOKEN|SECRET|BASE_URL)", re.I)
    return {k: v for k, v in os.environ.items() if not secret.search(k) and not k.startswith("AIDE_")}


def measure(cmd, env, cwd, log_path):
    """Runs cmd; answers (exit code, wall seconds, own peak RSS KiB, tree peak RSS KiB)."""
    with open(log_path, "wb") as log:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        own_peak = 0
        status_path = f"/proc/{proc.pid}/status"
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(status_path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            own_peak = max(own_peak, int(line.split()[1]))
                            break
            except OSError:
                pass
            time.sleep(0.02)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, own_peak, usage.ru_maxrss


def server_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as response:
        return json.load(response)


def calls_between(before, after):
    return {k: after[k] - before[k] for k in ("code", "review", "review_buggy")}


def run_aideml(args, task, work, port):
    env = clean_env()
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    # aideml's client needs some key; this one is made up here and only ever sent to loopback.
    env["OPENAI_API_KEY"] = "not-a-key-" + secrets.token_hex(4)
    root = work / "aideml"
    root.mkdir()
    cmd = [
        args.aideml, f"data_dir={task / 'data'}", f"goal={GOAL}", f"eval={EVAL}",
        f"agent.steps={args.steps}", f"agent.code.model={MODEL}", f"agent.feedback.model={MODEL}",
        "generate_report=False", f"log_dir={root / 'logs'}", f"workspace_dir={root / 'workspaces'}",
        "exp_name=bench", "exec.timeout=60",
    ]
    code, wall, own, tree = measure(cmd, env, root, root / "output.txt")
    journals = list((root / "logs").glob("*/journal.json"))
    nodes = buggy = 0
    if journals:
        journal = json.loads(journals[0].read_text())
        nodes = len(journal["nodes"])
        buggy = sum(1 for node in journal["nodes"] if node.get("is_buggy"))
    return dict(harness="aideml " + args.aideml_version, workers=1, code=code, wall=wall, own=own,
                tree=tree, nodes=nodes, buggy=buggy, log=root / "output.txt")


def run_aide(args, task, work, port, workers):
    root = work / f"aide-w{workers}"
    root.mkdir()
    cmd = [args.aide, "run", str(task / "task.yaml"), "--runs-dir", str(root / "runs"),
           "--base-url", f"http://127.0.0.1:{port}/v1", "--steps", str(args.steps)]
    if workers != 1:
        cmd += ["--workers", str(workers)]
    for setting in args.aide_set:
        cmd += ["--set", setting]
    code, wall, own, tree = measure(cmd, clean_env(), root, root / "output.txt")
    nodes = buggy = 0
    runs = list((root / "runs").glob("*/run.sqlite"))
    if runs:
        report = subprocess.run([args.aide, "report", str(runs[0]), "--format", "json"],
                                capture_output=True, text=True, env=clean_env())
        if report.returncode == 0:
            counts = json.loads(report.stdout)["counts"]
            nodes, buggy = counts["steps"], counts["buggy"]
    return dict(harness="aide", workers=workers, code=code, wall=wall, own=own, tree=tree,
                nodes=nodes, buggy=buggy, log=root / "output.txt")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aide", required=True, help="the aide binary")
    parser.add_argument("--aideml", required=True, help="aideml's `aide` entry point (in its own venv)")
    parser.add_argument("--aideml-version", default="?")
    parser.add_argument("--python", required=True, help="the python aide runs scripts with")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each LLM call takes")
    parser.add_argument("--workers", default="1,2,4", help="aide worker counts, comma-separated")
    parser.add_argument("--aide-set", action="append", default=[], help="passed to aide run as --set")
    parser.add_argument("--work", required=True, help="an empty folder for tasks, runs and logs")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    task = make_task(work, args.steps, args.python)

    server = subprocess.Popen([sys.executable, str(HERE / "server.py"), "--delay", str(args.delay)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        print(f"{args.steps} steps each; every LLM call takes {args.delay:g} s (loopback server, port {port}); "
              f"one node needs 2 calls, so one worker makes at most {60 / (2 * args.delay):.1f} nodes/min")
        results = []
        args.import_time = None
        venv_python = Path(args.aideml).parent / "python"
        if venv_python.exists():
            start = time.monotonic()
            subprocess.run([str(venv_python), "-c", "import aide.run"], check=True, env=clean_env())
            args.import_time = time.monotonic() - start
        plans = [("aideml", None)] + [("aide", int(w)) for w in args.workers.split(",")]
        for name, workers in plans:
            before = server_stats(port)
            label = name if workers is None else f"aide --workers {workers}"
            print(f"running {label} ...", flush=True)
            result = (run_aideml(args, task, work, port) if workers is None
                      else run_aide(args, task, work, port, workers))
            result["calls"] = calls_between(before, server_stats(port))
            results.append(result)
            if result["code"] != 0 or result["nodes"] == 0:
                print(f"  {label} exited {result['code']} with {result['nodes']} nodes; "
                      f"the end of {result['log']}:")
                tail = Path(result["log"]).read_bytes()[-2000:].decode(errors="replace")
                print("    " + "\n    ".join(tail.splitlines()[-15:]))
    finally:
        server.terminate()
        server.wait()

    base = results[0]
    base_rate = base["nodes"] / base["wall"] * 60 if base["nodes"] and base["wall"] else None
    header = ("harness", "workers", "steps", "nodes", "buggy", "LLM calls", "wall s", "nodes/min",
              "vs aideml", "own RSS MiB", "tree RSS MiB")
    rows = []
    for r in results:
        rate = r["nodes"] / r["wall"] * 60 if r["wall"] else 0
        calls = r["calls"]
        rows.append((
            r["harness"], str(r["workers"]), str(args.steps), str(r["nodes"]), str(r["buggy"]),
            f"{calls['code']}+{calls['review']}", f"{r['wall']:.1f}", f"{rate:.1f}",
            f"{rate / base_rate:.2f}x" if base_rate else "-",
            f"{r['own'] / 1024:.1f}", f"{r['tree'] / 1024:.1f}",
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print()
    for row in [header] + rows:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    print("\nLLM calls: code+review requests the server answered during the run. own RSS: the harness's")
    print("own process (VmHWM); tree RSS: the largest single process in its tree (as /usr/bin/time -v).")
    if args.import_time is not None:
        print(f"aideml's startup: importing aide.run alone takes {args.import_time:.1f} s wall "
              "(its openai, anthropic, pandas, rich, igraph imports), part of its wall time above.")
    failed = [r for r in results if r["code"] != 0 or r["nodes"] < args.steps or r["buggy"]]
    if failed:
        print("\nWARNING: a run failed, fell short of its steps, or made buggy nodes: "
              + ", ".join(f"{r['harness']} w{r['workers']}" for r in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
