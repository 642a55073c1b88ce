"""A loopback OpenAI-compatible chat-completions server for scripts/peer-bench.sh.

Every call sleeps a fixed delay (a stand-in for a model's latency), then answers:
- a call without `tools` (a code prompt) with a plan and one fenced python block: a trivial script
  (standard library only) that reads ./input/train.csv and ./input/test.csv, prints
  `Validation metric: <rmse>` and writes ./working/submission.csv;
- a call with `tools` (a review) with a call of the forced function whose arguments carry every field
  either harness requires (aide: is_bug, summary, metric; aideml 0.2.2: also lower_is_better). The
  metric is the `Validation metric:` number found in the prompt (the script's output, which both
  harnesses quote), and is_bug is true when there is none or a traceback shows: a harness that did not
  really run the script gets buggy nodes, not fast good ones.

GET /stats answers the counts of calls so far. Standard library only.
Usage: python server.py --port 0 --delay 1.0   (prints "port N" once listening)
"""

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = """\
import csv

train = list(csv.DictReader(open("./input/train.csv")))
ys = [float(row["y"]) for row in train]
split = int(len(ys) * 0.8)
mean = sum(ys[:split]) / split
valid = ys[split:]
rmse = (sum((y - mean) ** 2 for y in valid) / len(valid)) ** 0.5
print(f"Validation metric: {rmse:.6f}")

test = list(csv.DictReader(open("./input/test.csv")))
with open("./working/submission.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["id", "y"])
    for row in test:
        writer.writerow([row["id"], mean])
"""

METRIC = re.compile(r"Validation metric: (-?[0-9]+(?:\.[0-9]+)?)")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"code": 0, "review": 0, "review_buggy": 0, "in_flight_max": 0}
        self.in_flight = 0

    def enter(self):
        with self.lock:
            self.in_flight += 1
            self.counts["in_flight_max"] = max(self.counts["in_flight_max"], self.in_flight)

    def leave(self, kind, buggy=False):
        with self.lock:
            self.in_flight -= 1
            self.counts[kind] += 1
            if buggy:
                self.counts["review_buggy"] += 1

    def snapshot(self):
        with self.lock:
            return dict(self.counts)


def prompt_text(body):
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    return "\n".join(parts)


def make_handler(delay, stats):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/stats":
                self.reply(200, stats.snapshot())
            else:
                self.reply(404, {"error": {"message": f"no such path {self.path}", "type": "not_found"}})

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self.reply(404, {"error": {"message": f"no such path {self.path}", "type": "not_found"}})
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self.reply(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                return
            if body.get("stream"):
                # Neither harness streams in a search; a request that does is a misconfiguration.
                self.reply(400, {"error": {"message": "this server does not stream", "type": "invalid_request_error"}})
                return
            stats.enter()
            kind, buggy = "code", False
            try:
                time.sleep(delay)
                prompt = prompt_text(body)
                tools = body.get("tools") or []
                if tools:
                    kind = "review"
                    name = tools[0].get("function", {}).get("name", "submit_review")
                    found = METRIC.findall(prompt)
                    metric = float(found[-1]) if found else None
                    buggy = metric is None or "Traceback (most recent call last)" in prompt
                    arguments = {
                        "is_bug": buggy,
                        "summary": "The script ran and printed its validation RMSE." if not buggy
                        else "The script printed no validation metric.",
                        "metric": None if buggy else metric,
                        "lower_is_better": True,
                        "has_csv_submission": True,
                    }
                    message = {
                        "role": "assistant", "content": None,
                        "tool_calls": [{"id": "call_1", "type": "function",
                                        "function": {"name": name, "arguments": json.dumps(arguments)}}],
                    }
                    finish = "tool_calls"
                    text = json.dumps(arguments)
                else:
                    text = ("Predict the mean of the training targets and report the RMSE on a held-out "
                            "fifth of the training data.\n\n```python\n" + SCRIPT + "```\n")
                    message = {"role": "assistant", "content": text}
                    finish = "stop"
                self.reply(200, {
                    "id": "chatcmpl-peer-bench", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "peer-bench-model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4,
                              "total_tokens": len(prompt) // 4 + len(text) // 4},
                })
            finally:
                stats.leave(kind, buggy)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each call sleeps")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.delay, Stats()))
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
