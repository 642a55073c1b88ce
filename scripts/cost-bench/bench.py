"""What a search costs, aideml against aide in full / diff / diff+cache modes, on one loopback model
that prices, caches and takes time like Anthropic (server.py); driven by scripts/cost-bench.sh.

Each harness runs the same steps on the same small CSV task with one worker; the server answers
whole scripts of about 150 lines, or SEARCH/REPLACE blocks when a prompt asks for them. Printed per
harness: USD per node, input tokens per node and the share served from the cache, output tokens per
improve/debug call, LLM seconds per node and per improve/debug call, nodes per hour, and the USD and
improve/debug LLM-time ratios to aideml. Standard library only.
"""

import argparse
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL = "Predict y for each row of test.csv from the feature x."
EVAL = "Root mean squared error of y, lower is better."
DESCRIPTION = "\n\n".join([
    "# Overview",
    "A sensor network measures a quantity x at regular intervals and, for a subset of the readings, a "
    "laboratory later determines the response y. The laboratory is slow and expensive; the goal of this "
    "competition is a model that predicts y from x well enough that most readings need no laboratory work.",
    "# Data",
    "train.csv holds one row per reading with its id, the measurement x and the laboratory response y. "
    "test.csv holds the readings whose responses are hidden, with id and x only. The readings were taken on "
    "many days by several instruments; the ids are assigned in the order readings arrived and carry no signal.",
] + [f"## Note {i}\nThe instruments were calibrated against a reference before each campaign; calibration "
     f"drift within a campaign is below the measurement noise, and readings outside the instrument's range were "
     f"removed before the data was released. Campaign {i} used the same protocol as the others, and its readings "
     f"are mixed into both files in proportion." for i in range(1, 13)] + [
    "# Evaluation",
    "Submissions are scored on the root mean squared error between the predicted and the laboratory "
    "responses of the test readings. The submission file has a header and one row per test id: id,y.",
])


def _peer_bench():
    """scripts/peer-bench/bench.py, whose task data and clean environment this benchmark shares."""
    spec = importlib.util.spec_from_file_location("peer_bench", HERE.parent / "peer-bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEER = _peer_bench()
clean_env = PEER.clean_env


def make_task(root, steps, python):
    """peer-bench's data (train.csv, test.csv), with a description of realistic length."""
    task = PEER.make_task(root, steps, python)
    (task / "description.md").write_text(DESCRIPTION)
    (task / "task.yaml").write_text(
        f"""name: cost-bench
goal: {GOAL}
description: {EVAL}
description_file: description.md
data: data
metric: {{name: validation RMSE, direction: minimize}}
budget: {{steps: {steps}, script_timeout: 60}}
agent: {{code_model: claude-sonnet-4-5, feedback_model: claude-sonnet-4-5, stream: false}}
search: {{num_drafts: 5, debug_prob: 0.5, max_debug_depth: 3}}
exec: {{python: {python}}}
""")
    return task


def slug(label):
    return label.replace(" ", "-").replace("+", "-").replace(".", "-")


def stats(port, label):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/h/{slug(label)}/stats", timeout=10) as response:
        return json.load(response)


def run(cmd, env, root):
    root.mkdir()
    start = time.monotonic()
    with open(root / "output.txt", "wb") as log:
        code = subprocess.call(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    return code, time.monotonic() - start


def run_aideml(args, task, work, port):
    env = clean_env()
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/h/{slug('aideml')}/v1"
    env["OPENAI_API_KEY"] = "not-a-key-" + secrets.token_hex(4)
    root = work / "aideml"
    cmd = [args.aideml, f"data_dir={task / 'data'}", f"desc_file={task / 'description.md'}",
           f"agent.steps={args.steps}", "agent.code.model=cost-bench-model",
           "agent.feedback.model=cost-bench-model", "generate_report=False", f"log_dir={root / 'logs'}",
           f"workspace_dir={root / 'workspaces'}", "exp_name=bench", "exec.timeout=60"]
    code, wall = run(cmd, env, root)
    nodes = 0
    for journal in (root / "logs").glob("*/journal.json"):
        nodes = len(json.loads(journal.read_text())["nodes"])
    return dict(harness=f"aideml {args.aideml_version}", code=code, wall=wall, nodes=nodes, log=root / "output.txt")


def run_aide(args, task, work, port, label, settings):
    env = clean_env()
    env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{port}/h/{slug(label)}"
    env["ANTHROPIC_API_KEY"] = "not-a-key-" + secrets.token_hex(4)
    root = work / slug(label)
    cmd = [args.aide, "run", str(task / "task.yaml"), "--runs-dir", str(root / "runs"), "--steps", str(args.steps)]
    for setting in settings:
        cmd += ["--set", setting]
    code, wall = run(cmd, env, root)
    nodes = 0
    for database in (root / "runs").glob("*/run.sqlite"):
        report = subprocess.run([args.aide, "report", str(database), "--format", "json"],
                                capture_output=True, text=True, env=clean_env())
        if report.returncode == 0:
            nodes = json.loads(report.stdout)["counts"]["steps"]
    return dict(harness=label, code=code, wall=wall, nodes=nodes, log=root / "output.txt")


def print_breakdown(results):
    """Where each harness's USD per node goes: per purpose, the uncached input, cache writes, cache
    reads and output, in USD per node (all nodes of the run), with the calls and tokens behind them."""
    prices = dict(input=3.0, cache_write=3.75, cache_read=0.3, output=15.0)
    parts = ("input", "cache_write", "cache_read", "output")
    print("\nUSD per node by purpose and part (tokens per call in brackets):")
    header = ("harness", "purpose", "calls") + parts + ("total",)
    rows = []
    for r in results:
        nodes = r["nodes"] or 1
        for purpose, row in r["llm"]["breakdown"].items():
            if not row["calls"]:
                continue
            cells = [f"{row[q] * prices[q] / 1e6 / nodes:.4f} [{row[q] / row['calls']:.0f}]" for q in parts]
            total = sum(row[q] * prices[q] for q in parts) / 1e6 / nodes
            rows.append((r["harness"], purpose, str(row["calls"]), *cells, f"{total:.4f}"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    for row in [header] + rows:
        print("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aide", required=True)
    parser.add_argument("--aideml", help="aideml's `aide` entry point (its own venv); omitted: not run")
    parser.add_argument("--aideml-version", default="?")
    parser.add_argument("--python", required=True, help="the python the scripts run with")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--per-token", type=float, default=0.02)
    parser.add_argument("--base", type=float, default=0.3)
    parser.add_argument("--bad-every", type=int, default=8)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = Path(args.work).resolve()
    task = make_task(work, args.steps, args.python)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--per-token", str(args.per_token), "--base", str(args.base),
         "--bad-every", str(args.bad_every)], stdout=subprocess.PIPE, text=True)
    plans = ([("aideml", None)] if args.aideml else []) + [
        ("aide full", ["agent.edit_format=full", "agent.prompt_cache=off"]),
        ("aide diff", ["agent.edit_format=diff", "agent.prompt_cache=off"]),
        ("aide diff+cache", ["agent.edit_format=diff", "agent.prompt_cache=auto"]),
    ]
    try:
        port = int(server.stdout.readline().split()[1])
        print(f"{args.steps} steps each, one worker; the model takes {args.base:g} s + {args.per_token * 1000:g} ms "
              f"per output token and is priced as Claude Sonnet ($3/M input, $15/M output, cache 1.25x/0.1x); "
              f"every {args.bad_every}th diff answer does not apply")
        # The harnesses run at once (the time is the model's, slept by the server), each under its own
        # path on the server, so each is counted and cached apart.
        print("running " + ", ".join(label for label, _ in plans) + " at once ...", flush=True)
        with ThreadPoolExecutor(max_workers=len(plans)) as pool:
            futures = [pool.submit(run_aideml, args, task, work, port) if settings is None
                       else pool.submit(run_aide, args, task, work, port, label, settings)
                       for label, settings in plans]
            results = [future.result() for future in futures]
        for (label, _), result in zip(plans, results):
            result["llm"] = stats(port, label)
            if result["code"] != 0 or result["nodes"] == 0:
                print(f"  {label} exited {result['code']} with {result['nodes']} nodes; the end of {result['log']}:")
                tail = Path(result["log"]).read_bytes()[-2000:].decode(errors="replace")
                print("    " + "\n    ".join(tail.splitlines()[-15:]))
    finally:
        server.terminate()
        server.wait()

    header = ("harness", "nodes", "USD/node", "in tok/node", "cached", "out tok/edit", "LLM s/node",
              "LLM s/edit", "nodes/hour", "USD vs aideml", "edit s vs aideml")
    rows = []
    base = results[0] if args.aideml else None

    def per_node(r, key):
        return r["llm"][key] / r["nodes"] if r["nodes"] else 0.0

    def per_edit(r, key):
        # Per improve/debug node: a patch that did not apply and the whole script asked after it count once.
        nodes = r["llm"]["edit_calls"] - r["llm"]["fallback"]
        return r["llm"][key] / nodes if nodes else 0.0

    for r in results:
        llm = r["llm"]
        cached = llm["cache_read"] / llm["input"] if llm["input"] else 0
        usd_ratio = (per_node(r, "usd") / per_node(base, "usd")) if base and per_node(base, "usd") else None
        edit_ratio = (per_edit(r, "edit_seconds") / per_edit(base, "edit_seconds")) if base and per_edit(base, "edit_seconds") else None
        rows.append((
            r["harness"], str(r["nodes"]), f"{per_node(r, 'usd'):.4f}", f"{per_node(r, 'input'):.0f}",
            f"{cached:.0%}", f"{per_edit(r, 'edit_output'):.0f}", f"{per_node(r, 'seconds'):.1f}",
            f"{per_edit(r, 'edit_seconds'):.1f}", f"{r['nodes'] / r['wall'] * 3600:.0f}" if r["wall"] else "-",
            f"{usd_ratio:.2f}x" if usd_ratio is not None else "-",
            f"{edit_ratio:.2f}x" if edit_ratio is not None else "-",
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print()
    for row in [header] + rows:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    print("\nedit: an improve or debug node's code calls (shown a previous script; a patch that did not apply and")
    print("the whole script asked after it count as one node); LLM s: time the model took,")
    print("summed over calls, as the server measured it; cached: share of input tokens read from the cache.")
    print_breakdown(results)
    failed = [r["harness"] for r in results if r["code"] != 0 or r["nodes"] < args.steps]
    if failed:
        print("\nWARNING: a run failed or fell short of its steps: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
