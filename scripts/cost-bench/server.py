"""A loopback model for scripts/cost-bench.sh that prices, caches and takes time like Anthropic.

It speaks both Anthropic's Messages API (POST /v1/messages) and OpenAI's chat completions
(POST /v1/chat/completions), so aideml (OpenAI client) and aide (Anthropic backend) meet the same
model. Every call is priced at Claude Sonnet's list rates ($3 per million input tokens, $15 output,
cache writes 1.25x and reads 0.1x of the input rate). Caching follows Anthropic's rules: only what
a request marks with `cache_control` is cached (on a tool, a system block or a message block); the
prefix up to a breakpoint is read in the render order tools, system, messages, and hits when an
earlier request wrote the same bytes there or at one of the 20 block ends before it; tool_choice keys
only breakpoints in the messages; a prefix under 1,024 tokens is not cached. Each harness calls under its own path (/h/LABEL/v1/...) and has its
own cache and counters, so several can run at once. Tokens are counted as four bytes each. A call
takes BASE seconds plus PER_TOKEN seconds per output token (a model's decode speed).

Answers, all realistic in size:
- a review (a call that forces a tool): the forced function, its metric read from `Validation metric:` in
  the prompt (is_bug when there is none or a traceback shows);
- a code call whose prompt asks for SEARCH/REPLACE blocks: a plan and one block changing the parent
  script's ALPHA line (every BAD_EVERY-th such answer names a line that is not there, so the harness
  must fall back to a whole script);
- any other code call: a plan and a whole script of about 150 lines (standard library only).

GET /h/LABEL/stats answers that harness's totals so far, with USD parts per purpose (draft,
edit = improve or debug, review). Usage: python server.py --port 0 (prints "port N").
"""

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INPUT, OUTPUT = 3.0, 15.0
CACHE_WRITE, CACHE_READ = 1.25 * INPUT, 0.1 * INPUT
MINIMUM_CACHEABLE = 1024

PLAN = ("Keep the validated pipeline and change one thing: the ridge penalty ALPHA, which the last "
        "results suggest is too {direction}. Everything else (features, folds, the submission writer) "
        "stays as it is, so the effect of this one change on the cross-validated RMSE can be measured.")

SCRIPT = '''\
"""Ridge regression on hand-made polynomial features, validated with k-fold CV (stdlib only)."""
import csv
import math
import random

# Regularisation strength of the ridge penalty.
ALPHA = {alpha}
# Polynomial degree of the features.
DEGREE = 2
FOLDS = 5
SEED = 17


def read_rows(path):
    """Rows of a CSV file as dictionaries."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def features(x):
    """Polynomial features of one input value, bias first."""
    return [x ** power for power in range(DEGREE + 1)]


def column_means(matrix):
    """The mean of each column."""
    count = len(matrix)
    return [sum(row[j] for row in matrix) / count for j in range(len(matrix[0]))]


def column_scales(matrix, means):
    """The standard deviation of each column (1 where it is constant)."""
    count = len(matrix)
    scales = []
    for j in range(len(matrix[0])):
        variance = sum((row[j] - means[j]) ** 2 for row in matrix) / count
        scales.append(math.sqrt(variance) or 1.0)
    return scales


def standardise(matrix, means, scales):
    """Columns centred and scaled; the bias column is kept at one."""
    result = []
    for row in matrix:
        scaled = [(value - mean) / scale for value, mean, scale in zip(row, means, scales)]
        scaled[0] = 1.0
        result.append(scaled)
    return result


def transpose(matrix):
    """The transpose of a list of rows."""
    return [list(column) for column in zip(*matrix)]


def matmul(a, b):
    """The product of two matrices given as lists of rows."""
    columns = transpose(b)
    return [[sum(x * y for x, y in zip(row, column)) for column in columns] for row in a]


def solve(matrix, vector):
    """Solves matrix @ w = vector by Gaussian elimination with partial pivoting."""
    size = len(matrix)
    augmented = [row[:] + [value] for row, value in zip(matrix, vector)]
    for pivot in range(size):
        best = max(range(pivot, size), key=lambda r: abs(augmented[r][pivot]))
        augmented[pivot], augmented[best] = augmented[best], augmented[pivot]
        lead = augmented[pivot][pivot]
        if abs(lead) < 1e-12:
            continue
        for j in range(pivot, size + 1):
            augmented[pivot][j] /= lead
        for r in range(size):
            if r != pivot:
                factor = augmented[r][pivot]
                for j in range(pivot, size + 1):
                    augmented[r][j] -= factor * augmented[pivot][j]
    return [augmented[r][size] for r in range(size)]


def fit_ridge(matrix, targets, alpha):
    """Ridge weights: (X'X + alpha I) w = X'y, the bias left unpenalised."""
    xt = transpose(matrix)
    gram = matmul(xt, matrix)
    for j in range(1, len(gram)):
        gram[j][j] += alpha
    moment = [sum(x * y for x, y in zip(column, targets)) for column in xt]
    return solve(gram, moment)


def predict(matrix, weights):
    """Predictions of a linear model."""
    return [sum(x * w for x, w in zip(row, weights)) for row in matrix]


def rmse(truth, predicted):
    """Root mean squared error."""
    return math.sqrt(sum((t - p) ** 2 for t, p in zip(truth, predicted)) / len(truth))


def folds(count, k, seed):
    """Indices of k shuffled folds."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(inputs, targets):
    """Mean RMSE over the folds."""
    scores = []
    for held in folds(len(inputs), FOLDS, SEED):
        held_set = set(held)
        train_x = [inputs[i] for i in range(len(inputs)) if i not in held_set]
        train_y = [targets[i] for i in range(len(inputs)) if i not in held_set]
        valid_x = [inputs[i] for i in held]
        valid_y = [targets[i] for i in held]
        means = column_means(train_x)
        scales = column_scales(train_x, means)
        weights = fit_ridge(standardise(train_x, means, scales), train_y, ALPHA)
        scores.append(rmse(valid_y, predict(standardise(valid_x, means, scales), weights)))
    return sum(scores) / len(scores)


def main():
    train = read_rows("./input/train.csv")
    test = read_rows("./input/test.csv")
    inputs = [features(float(row["x"])) for row in train]
    targets = [float(row["y"]) for row in train]
    score = cross_validate(inputs, targets)
    print(f"Validation metric: {{score:.6f}}")
    means = column_means(inputs)
    scales = column_scales(inputs, means)
    weights = fit_ridge(standardise(inputs, means, scales), targets, ALPHA)
    test_inputs = standardise([features(float(row["x"])) for row in test], means, scales)
    with open("./working/submission.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "y"])
        for row, value in zip(test, predict(test_inputs, weights)):
            writer.writerow([row["id"], f"{{value:.6f}}"])


if __name__ == "__main__":
    main()
'''


def tokens(text):
    return len(text.encode()) // 4


PURPOSES = ("draft", "edit", "review")
PARTS = ("input", "cache_write", "cache_read", "output")
PRICE = dict(input=INPUT, cache_write=CACHE_WRITE, cache_read=CACHE_READ, output=OUTPUT)


class Harness:
    """One harness's cache and counters: each harness reaches the server under its own path
    (/h/LABEL/v1/...), so harnesses can run at the same time and be counted apart."""

    def __init__(self):
        self.cache = set()
        self.code_calls = 0
        self.diff_calls = 0
        self.stats = dict(calls=0, code=0, review=0, diff=0, input=0, cache_read=0, cache_write=0,
                          output=0, usd=0.0, usd_uncached=0.0, seconds=0.0,
                          edit_calls=0, edit_output=0, edit_seconds=0.0, fallback=0,
                          breakdown={p: {q: 0 for q in PARTS + ("calls",)} for p in PURPOSES})


class Model:
    def __init__(self, base, per_token, bad_every):
        self.base, self.per_token, self.bad_every = base, per_token, bad_every
        self.lock = threading.Lock()
        self.harnesses = {}

    def harness(self, label):
        with self.lock:
            return self.harnesses.setdefault(label, Harness())

    def answer_code(self, harness, prompt, user):
        with self.lock:
            harness.code_calls += 1
            k = harness.code_calls
        alpha = round(0.05 * (1 + k % 17), 2)
        # The form is described once in aide's system prompt; the step (the user message) asks for
        # it, and the second call after a patch that did not apply asks for the whole script.
        if "SEARCH/REPLACE" in user and "could not be applied" not in user and "ALPHA = " in prompt:
            with self.lock:
                harness.diff_calls += 1
                bad = self.bad_every and harness.diff_calls % self.bad_every == 0
            current = re.search(r"^ALPHA = (.*)$", prompt, re.M)
            old = "ALPHA = 0.123456" if bad else f"ALPHA = {current.group(1)}"
            return "diff", (PLAN.format(direction="strong") + "\n\n<<<<<<< SEARCH\n# Regularisation strength of "
                            f"the ridge penalty.\n{old}\n=======\n# Regularisation strength of the ridge "
                            f"penalty.\nALPHA = {alpha}\n>>>>>>> REPLACE\n")
        return "full", PLAN.format(direction="weak") + "\n\n```python\n" + SCRIPT.format(alpha=alpha) + "```\n"

    def account(self, harness, prompt_tokens, cached, written, output, duration, kind, purpose, fallback=False):
        parts = dict(input=prompt_tokens - cached - written, cache_write=written, cache_read=cached, output=output)
        usd = sum(parts[q] * PRICE[q] for q in PARTS) / 1e6
        edit = purpose == "edit"
        with self.lock:
            s = harness.stats
            s["calls"] += 1
            s[kind] += 1
            s["input"] += prompt_tokens
            s["cache_read"] += cached
            s["cache_write"] += written
            s["output"] += output
            s["usd"] += usd
            s["usd_uncached"] += (prompt_tokens * INPUT + output * OUTPUT) / 1e6
            s["seconds"] += duration
            row = s["breakdown"][purpose]
            row["calls"] += 1
            for q in PARTS:
                row[q] += parts[q]
            if edit:
                s["edit_calls"] += 1
                s["edit_output"] += output
                s["edit_seconds"] += duration
                s["fallback"] += fallback


LOOKBACK = 20


def blocks(body):
    """The request's prefixes at every block end, in Anthropic's render order (tools, then system,
    then messages), each with whether a `cache_control` breakpoint marks it. `tool_choice` is part of
    the key of what the messages hold only (changing it keeps the tools and system cached, as
    Anthropic documents), so calls that force a tool and calls that do not share a prefix that ends
    in the system."""
    text, ends = "", []
    for tool in body.get("tools") or []:
        text += json.dumps({k: v for k, v in tool.items() if k != "cache_control"}, sort_keys=True)
        ends.append((text, "cache_control" in tool))
    system = body.get("system")
    for block in (system if isinstance(system, list) else [{"text": system or ""}]):
        text += block.get("text", "")
        ends.append((text, "cache_control" in block))
    text += json.dumps(body.get("tool_choice"), sort_keys=True)
    for message in body.get("messages", []):
        content = message["content"]
        for block in ([{"text": content}] if isinstance(content, str) else content):
            text += block.get("text", "")
            ends.append((text, "cache_control" in block))
    return ends


def cache_use(harness, lock, body):
    """(tokens read, tokens written), by Anthropic's documented rules: each breakpoint looks for a
    cached prefix at its own block end and at the block ends before it, up to 20 blocks back (only
    prefixes an earlier request marked were ever written); the longest found is read, and the
    request's last breakpoint is written from there. A prefix under the minimum is not cached."""
    ends = blocks(body)
    marks = [i for i, (prefix, marked) in enumerate(ends) if marked and tokens(prefix) >= MINIMUM_CACHEABLE]
    if not marks:
        return 0, 0
    key = lambda prefix: hashlib.sha256(prefix.encode()).hexdigest()
    with lock:
        read = 0
        for mark in marks:
            for i in range(mark, max(-1, mark - LOOKBACK), -1):
                if key(ends[i][0]) in harness.cache:
                    read = max(read, tokens(ends[i][0]))
                    break
        harness.cache.update(key(ends[i][0]) for i in marks)
    return read, tokens(ends[marks[-1]][0]) - read


def forced_tool(body):
    """The function a request forces (a review), or None: Anthropic's tool_choice names it (a code
    call may send the same tools with tool_choice none); an OpenAI request with tools forces its first."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    if not tools or choice == "none" or (isinstance(choice, dict) and choice.get("type") == "none"):
        return None
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return choice["name"]
    first = tools[0]
    return first["function"]["name"] if "function" in first else first["name"]


def metric_of(prompt):
    found = re.findall(r"Validation metric: ([0-9.]+)", prompt)
    return float(found[-1]) if found else None


class Handler(BaseHTTPRequestHandler):
    model = None

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def label(self):
        parts = self.path.split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "h" else "default"

    def do_GET(self):
        if self.path.endswith("/stats"):
            harness = self.model.harness(self.label())
            with self.model.lock:
                return self.reply(200, json.loads(json.dumps(harness.stats)))
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        start = time.monotonic()
        harness = self.model.harness(self.label())
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        anthropic = self.path.endswith("/v1/messages")
        tools_text = json.dumps(body.get("tools", []), sort_keys=True)
        if anthropic:
            system = body.get("system") or ""
            system_text = system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
            messages = body.get("messages", [])
            user = "".join(m["content"] if isinstance(m["content"], str)
                           else "".join(p.get("text", "") for p in m["content"]) for m in messages)
            prompt = system_text + user
        else:
            prompt = "".join(m.get("content") or "" for m in body.get("messages", []))
            user = body["messages"][-1].get("content") or "" if body.get("messages") else ""
        prompt_tokens = tokens(tools_text + prompt)
        cached, written = cache_use(harness, self.model.lock, body) if anthropic else (0, 0)

        name = forced_tool(body)
        if name:
            # The metric of the run under review: in the last output the prompt shows.
            metric = metric_of(re.split(r"(?m)^#+ What running .* printed$", prompt)[-1])
            buggy = metric is None or "Traceback" in prompt[-3000:]
            arguments = {"is_bug": buggy, "summary": "The script ran and printed its cross-validated RMSE; "
                         "the submission was written.", "metric": metric, "lower_is_better": True,
                         "has_csv_submission": True}
            kind, text = "review", json.dumps(arguments)
        else:
            form, text = self.model.answer_code(harness, prompt, user)
            kind = "diff" if form == "diff" else "code"
        output = tokens(text)
        time.sleep(self.model.base + output * self.model.per_token)
        # An improve or debug call: a code call shown a previous script.
        purpose = "review" if name else ("edit" if "ALPHA = " in prompt else "draft")
        # aide's second call after a patch that did not apply: the same node, asked again.
        fallback = purpose == "edit" and "could not be applied" in prompt
        self.model.account(harness, prompt_tokens, cached, written, output, time.monotonic() - start, kind,
                           purpose, fallback)
        usage_in = prompt_tokens - cached - written
        if anthropic:
            content = ([{"type": "tool_use", "id": "toolu_bench", "name": name, "input": json.loads(text)}]
                       if name else [{"type": "text", "text": text}])
            self.reply(200, {
                "id": "msg_bench", "type": "message", "role": "assistant", "model": body.get("model"),
                "content": content, "stop_reason": "tool_use" if name else "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": usage_in, "output_tokens": output,
                          "cache_creation_input_tokens": written, "cache_read_input_tokens": cached}})
        else:
            if name:
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_bench", "type": "function", "function": {"name": name, "arguments": text}}]}
                finish = "tool_calls"
            else:
                message, finish = {"role": "assistant", "content": text}, "stop"
            self.reply(200, {
                "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": output,
                          "total_tokens": prompt_tokens + output,
                          "prompt_tokens_details": {"cached_tokens": 0}}})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--base", type=float, default=0.3, help="seconds every call takes")
    parser.add_argument("--per-token", type=float, default=0.02, help="seconds per output token")
    parser.add_argument("--bad-every", type=int, default=8, help="every n-th diff answer does not apply")
    args = parser.parse_args()
    Handler.model = Model(args.base, args.per_token, args.bad_every)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
