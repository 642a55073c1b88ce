// Benchmarks for the LLM layer; prints figures, asserts nothing. Run: scripts/bench.sh
//   1. SSE parsing throughput (MB/s) on an Anthropic-shaped stream.
//   2. Streamed query throughput: a large stream folded end to end through the backend over loopback.
//   3. Overhead of one `query` over a raw libcurl call to the same loopback server.
// `AIDEBenchmarks make-run FOLDER N` instead writes a generated run of N nodes (scripts/bench-report.sh);
// `grow-run FOLDER N` adds N more while it is marked running, and `pad-run FOLDER N` pads a real run
// to N nodes (scripts/bench-serve.sh).
// `AIDEBenchmarks sandbox-startup PYTHON [N]` instead times the sandbox's start-up (scripts/bench-sandbox.sh).
import AIDE
import AIDETesting
import CCurl
import Foundation

func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func anthropicEvent(_ index: Int) -> String {
    let text = "token \(index) of a long answer, with some \\\"quoted\\\" text "
    return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        + "\"delta\":{\"type\":\"text_delta\",\"text\":\"\(text)\"}}\n\n"
}

// MARK: 1. SSE parsing

func benchmarkSSE() {
    var stream = Data()
    var events = 0
    while stream.count < 64 << 20 {
        stream.append(contentsOf: anthropicEvent(events).utf8)
        events += 1
    }
    let chunkSize = 16 << 10
    let chunks = stride(from: 0, to: stream.count, by: chunkSize).map {
        stream.subdata(in: $0..<min($0 + chunkSize, stream.count))
    }
    var rates: [Double] = []
    for _ in 0..<5 {
        var parser = SSEParser()
        var parsed = 0
        let seconds = measure {
            for chunk in chunks { parsed += parser.feed(chunk).count }
        }
        precondition(parsed == events, "parsed \(parsed) of \(events) events")
        rates.append(Double(stream.count) / seconds / 1e6)
    }
    print(String(format: "SSE parsing: %.0f MB/s (median of 5 passes over %d MB, %d events, 16 KiB chunks)",
        median(rates), stream.count >> 20, events))
}

// MARK: 2. Streamed query end to end

func benchmarkStreamedQuery() async throws {
    let count = 50_000
    var events = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_b\",\"type\":\"message\","
            + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,"
            + "\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    ]
    var body = ""
    for index in 0..<count { body += anthropicEvent(index) }
    events.append(body)
    events.append("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
    events.append("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
        + "\"usage\":{\"output_tokens\":\(count)}}\n\n")
    events.append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
    let bytes = events.reduce(0) { $0 + $1.utf8.count }
    let script = events
    let server = try LoopbackServer { _ in .sse(script) }
    let backend = AnthropicBackend(
        endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "bench"), http: HTTPClient())
    var rates: [Double] = []
    for _ in 0..<3 {
        let start = ContinuousClock.now
        let result = try await backend.query(
            system: nil, user: "go", options: ModelOptions(model: "claude-sonnet-4-5", stream: true))
        let elapsed = (ContinuousClock.now - start)
        precondition(result.usage.output == count)
        rates.append(Double(bytes) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)) / 1e6)
    }
    print(String(format: "streamed query (SSE + JSON + fold, over loopback): %.1f MB/s (%d events, %.1f MB)",
        median(rates), count, Double(bytes) / 1e6))
}

// MARK: 3. Query overhead over raw curl

/// One POST with a reused easy handle, the way a hand-written curl client would do it.
final class RawCurl {
    let handle: UnsafeMutableRawPointer
    var received = Data()

    init() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        handle = curl_easy_init()!
    }

    func post(url: String, body: String, headers: [String]) -> Int {
        received.removeAll(keepingCapacity: true)
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Content-Type: application/json", "Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        _ = aide_easy_setopt_string(handle, CURLOPT_URL, url)
        _ = aide_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        _ = aide_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body)
        _ = aide_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque())
        _ = aide_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { pointer, size, count, context in
            let me = Unmanaged<RawCurl>.fromOpaque(context!).takeUnretainedValue()
            me.received.append(UnsafeRawPointer(pointer!).assumingMemoryBound(to: UInt8.self), count: size * count)
            return size * count
        }
        let code = curl_easy_perform(handle)
        precondition(code == CURLE_OK, "raw curl failed: \(code)")
        var status = 0
        _ = aide_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return status
    }
}

func benchmarkOverhead() async throws {
    let completion = """
        {"id":"chatcmpl-b","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}
        """
    let server = try LoopbackServer { _ in .json(200, completion) }
    let backend = OpenAIBackend(
        endpoint: ProviderEndpoint(provider: .openai, baseURL: server.baseURL + "/v1", apiKey: "sk-bench"),
        http: HTTPClient())
    let options = ModelOptions(model: "gpt-4o-mini", temperature: 0)
    let raw = RawCurl()
    let url = server.baseURL + "/v1/chat/completions"
    let body = #"{"messages":[{"content":"You are terse.","role":"system"},{"content":"Say ok.","role":"user"}],"model":"gpt-4o-mini","temperature":0}"#

    let rounds = 400
    var rawTimes: [Double] = []
    var queryTimes: [Double] = []
    // Warm both paths (connection set-up, first-call costs), then interleave so noise hits both alike.
    _ = raw.post(url: url, body: body, headers: ["Authorization: Bearer sk-bench"])
    _ = try await backend.query(system: "You are terse.", user: "Say ok.", options: options)
    for _ in 0..<rounds {
        rawTimes.append(measure { _ = raw.post(url: url, body: body, headers: ["Authorization: Bearer sk-bench"]) })
        let start = ContinuousClock.now
        _ = try await backend.query(system: "You are terse.", user: "Say ok.", options: options)
        let elapsed = ContinuousClock.now - start
        queryTimes.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    let rawMedian = median(rawTimes) * 1000
    let queryMedian = median(queryTimes) * 1000
    print(String(format: "raw curl POST: %.3f ms median; query(): %.3f ms median; overhead %.3f ms (%.2fx), %d rounds",
        rawMedian, queryMedian, queryMedian - rawMedian, queryMedian / rawMedian, rounds))
}

// MARK: A generated run, for report benchmarks

/// Writes a run of `count` nodes through the real store: a random tree (seeded), scripts and
/// outputs of realistic size, two LLM calls per node, a metrics row per step.
func makeRun(folder: URL, count: Int) throws {
    let store = try RunStore(path: folder.appendingPathComponent("run.sqlite"))
    let spec = TaskSpec(
        name: "generated", goal: "Benchmark the report.", data: "data",
        metric: MetricSpec(name: "validation RMSE", direction: .minimize))
    try store.createRun(RunRecord(id: folder.lastPathComponent, taskFile: "/dev/null", spec: spec))
    let best = try writeNodes(store, folder: folder, steps: 0..<count)
    try store.updateRun(status: .finished, stopReason: "steps budget reached", bestNodeID: best, finishedAt: Date())
}

/// `grow-run FOLDER COUNT [PAUSE-MS]` (scripts/bench-serve.sh): adds COUNT nodes to a generated run
/// as fast as the store takes them (or PAUSE-MS apart), the run marked running meanwhile; prints
/// each node's id and commit time (seconds since 1970), then the commits per second.
func growRun(folder: URL, count: Int, pause: Double = 0) throws {
    let store = try RunStore(path: folder.appendingPathComponent("run.sqlite"))
    let first = try store.nodes().count
    try store.updateRun(status: .running, stopReason: nil, bestNodeID: nil, finishedAt: nil)
    let start = Date()
    let best = try writeNodes(store, folder: folder, steps: first..<(first + count)) { id in
        // Unbuffered: each line is written as its node is committed.
        FileHandle.standardOutput.write(Data("commit \(id) \(String(format: "%.6f", Date().timeIntervalSince1970))\n".utf8))
        if pause > 0 { Thread.sleep(forTimeInterval: pause / 1000) }
    }
    let elapsed = Date().timeIntervalSince(start)
    print(String(format: "rate %.3f commits/s (%d in %.3f s)", Double(count) / elapsed, count, elapsed))
    try store.updateRun(status: .finished, stopReason: "steps budget reached", bestNodeID: best, finishedAt: Date())
}

/// `pad-run FOLDER COUNT` (scripts/bench-serve.sh): adds generated nodes to a real run (made by a
/// scripted `aide run`) until it has COUNT, each under an earlier node, so the tree stays one tree
/// and the run can be resumed as a large one. The run's status and best node are kept.
func padRun(folder: URL, count: Int) throws {
    let store = try RunStore(path: folder.appendingPathComponent("run.sqlite"))
    let existing = try store.nodes().sorted { $0.step < $1.step }.map(\.id)
    guard existing.count < count, let run = try store.run() else { return }
    _ = try writeNodes(store, folder: folder, steps: existing.count..<count, parents: existing)
    try store.updateRun(status: run.status, stopReason: run.stopReason, bestNodeID: run.bestNodeID, finishedAt: run.finishedAt)
}

/// Commits generated nodes for `steps`: a random tree (seeded by the first step), scripts and
/// outputs of realistic size, two LLM calls per node, a metrics row per step. Returns the best node.
/// `parents` are the ids of the run's steps before the first (for a run that has nodes already).
func writeNodes(
    _ store: RunStore, folder: URL, steps: Range<Int>, parents: [String] = [], committed: (String) -> Void = { _ in }
) throws -> String? {
    var random = SeededRandom(seed: 42 &+ UInt64(steps.lowerBound))
    var best: (id: String, metric: Double)?
    let code = String(repeating: "x = model.fit(train[features], train[target])  # line of a script\n", count: 40)
    let output = String(repeating: "epoch 3/10 - loss 0.1234 - val_loss 0.2345\n", count: 50)
    let start = Date()
    for step in steps {
        let id = String(format: "%08x", step &* 2_654_435_761 & 0xffff_ffff)
        var parent: String?
        if step >= 5 {
            let parentStep = Int.random(in: 0..<step, using: &random)
            parent = parentStep < parents.count ? parents[parentStep] : String(format: "%08x", parentStep &* 2_654_435_761 & 0xffff_ffff)
        }
        let buggy = Double.random(in: 0..<1, using: &random) < 0.3
        let metric = buggy ? nil : Double.random(in: 0.1..<0.5, using: &random)
        if let metric, best.map({ metric < $0.metric }) ?? true { best = (id, metric) }
        let created = start.addingTimeInterval(Double(step))
        let node = Node(
            id: id, parentID: parent, step: step, stage: parent == nil ? .draft : (buggy ? .debug : .improve),
            plan: "Plan of step \(step): try a gradient-boosted model with tuned depth.", code: code,
            execution: ExecutionResult(
                output: output, outputBytes: output.utf8.count, exitCode: buggy ? 1 : 0, duration: 3.5,
                exceptionType: buggy ? "ValueError" : nil, traceback: buggy ? "Traceback ...\nValueError: bad" : nil),
            review: Review(isBug: buggy, summary: "A summary of what the run showed.", metric: metric), metric: metric,
            metricSource: metric == nil ? nil : .review, testScore: metric.map { $0 * 1.05 }, isBuggy: buggy,
            bugReasons: buggy ? ["raised ValueError"] : [], debugDepth: 0, createdAt: created,
            finishedAt: created.addingTimeInterval(0.9))
        let calls = [CallPurpose.draft, .review].map { purpose in
            LLMCallRecord(
                runID: folder.lastPathComponent, nodeID: id, step: step, purpose: purpose, model: "claude-sonnet-4-5",
                provider: .anthropic, latency: 2.5, lastAttemptLatency: 2.5, inputTokens: 3000, outputTokens: 600,
                costUSD: 0.018, attempts: 1, createdAt: created)
        }
        let metrics = MetricsRecord(
            runID: folder.lastPathComponent, step: step, bestMetric: best?.metric, bestTestScore: best.map { $0.metric * 1.05 },
            bestNodeID: best?.id, inputTokens: 6000 * (step + 1), outputTokens: 1200 * (step + 1),
            costUSD: 0.036 * Double(step + 1), elapsed: Double(step + 1), nodes: step + 1, buggyNodes: 0, recordedAt: created)
        try store.commit(node: node, calls: calls, metrics: metrics, bestNodeID: best?.id)
        committed(id)
    }
    return best?.id
}

let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "make-run", arguments.count == 3, let count = Int(arguments.last!) {
    try makeRun(folder: URL(fileURLWithPath: Array(arguments)[1]), count: count)
} else if arguments.first == "grow-run", arguments.count >= 3, let count = Int(Array(arguments)[2]) {
    try growRun(
        folder: URL(fileURLWithPath: Array(arguments)[1]), count: count,
        pause: arguments.count > 3 ? Double(Array(arguments)[3]) ?? 0 : 0)
} else if arguments.first == "pad-run", arguments.count == 3, let count = Int(arguments.last!) {
    try padRun(folder: URL(fileURLWithPath: Array(arguments)[1]), count: count)
} else if arguments.first == "sandbox-startup", arguments.count >= 2 {
    try await benchmarkSandboxStartup(python: Array(arguments)[1], count: arguments.count > 2 ? Int(Array(arguments)[2]) ?? 30 : 30)
} else {
    benchmarkSSE()
    try await benchmarkStreamedQuery()
    try await benchmarkOverhead()
}
