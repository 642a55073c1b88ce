@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

// Prompt caching as the provider sees it: a whole search through libcurl against a loopback
// Anthropic server that caches like Anthropic, and OpenAI's prompt_cache_key; the breakpoint's
// place and lifetime; what the model table charges for cached tokens.

private typealias A = AnthropicFixtures
private typealias S = ScriptedAnswers

/// Counts code requests (thread-safe).
private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { count in defer { count += 1 }; return count } }
}

/// The synthetic task with a data description long enough for the prefix to be cached.
private func longTask(steps: Int, extraYAML: String) throws -> SyntheticTask {
    let task = try SyntheticTask(steps: steps, extraYAML: extraYAML)
    let yaml = try String(contentsOf: task.taskFile, encoding: .utf8).replacingOccurrences(
        of: "description: train.csv has x and y;", with: "description: train.csv has x and y (see data_description.txt);")
    try Data(yaml.utf8).write(to: task.taskFile)
    let notes = (1...60).map { "Note \($0): x is a measurement taken on a fixed grid; y follows it closely." }
    try Data(notes.joined(separator: "\n").utf8).write(to: task.folder.appendingPathComponent("data/data_description.txt"))
    return task
}

@Suite struct PromptCacheTests {
    /// Draft (raises), debug, improve, and a review of each: every request's system message is one
    /// block with the breakpoint at its end, the same bytes for every call of the run, every call
    /// carries the same tools (code calls with tool_choice none), and from the second call on the
    /// server serves the whole prefix, tools and system, from its cache.
    @Test(arguments: [PromptCacheSetting.auto, .oneHour])
    func theStablePrefixIsOneCachedBlockIdenticalAcrossTheStepsOfARun(setting: PromptCacheSetting) async throws {
        let cache = AnthropicPromptCache()
        let codeCalls = Counter()
        let server = try LoopbackServer(handler: { request in
            let body = request.bodyJSON ?? [:]
            if (body["tool_choice"] as? [String: Any])?["type"] as? String == "tool" {
                let arguments = #"{"is_bug":false,"summary":"Ran.","metric":null}"#
                return A.messageResponse(A.message(
                    A.toolUseBlocks(name: Prompts.reviewFunction.name, input: arguments), stopReason: "tool_use",
                    usage: cache.usage(for: body, output: 20)))
            }
            let k = codeCalls.next()
            let script = k == 0 ? "raise ValueError('first try')\n" : S.goodScript(metric: 0.5 / Double(k))
            return A.messageResponse(A.message(
                [.text("A plan.\n```python\n\(script)\n```")], usage: cache.usage(for: body, output: 200)))
        })
        let task = try longTask(steps: 3, extraYAML: """
            agent:
              code_model: claude-sonnet-4-5
              stream: false
              prompt_cache: \(setting.rawValue)
            """)
        defer { task.remove() }
        let loaded = try TaskLoader.load(task.taskFile, overrides: ["search.num_drafts=1"])
        let backend = AnthropicBackend(
            endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "sk-loopback"),
            http: HTTPClient(), settings: loaded.spec.agent.backendSettings)
        let search = try await FinishedSearch.run(loaded, dependencies: .testPython(backend: backend))
        defer { search.remove() }
        #expect(search.summary.status == .finished)
        let nodes = try search.nodes()
        #expect(nodes.map(\.stage) == [.draft, .debug, .improve])

        let requests = server.requests
        #expect(requests.count == 6)
        var prefixes: Set<String> = []
        var tools: Set<String> = []
        var choices: [JSONValue?] = []
        for request in requests {
            let body = try JSONValue.parse(request.body)
            // Anthropic caches the tools before the system: the same tools on every call, so that
            // code calls and reviews read one cached prefix; only tool_choice tells them apart.
            tools.insert(try #require(body["tools"]).jsonText)
            choices.append(body["tool_choice"])
            let blocks = try #require(body["system"]?.arrayValue, "the system message is sent as content blocks")
            #expect(blocks.count == 1)
            let text = try #require(blocks.last?["text"]?.stringValue)
            prefixes.insert(text)
            // The breakpoint closes the stable prefix: the system block ends with the environment,
            // and what varies (the step) is all in the user message.
            #expect(blocks.last?["cache_control"] == (setting == .oneHour ? ["type": "ephemeral", "ttl": "1h"] : ["type": "ephemeral"]))
            #expect(text.hasPrefix("# Introduction\n\nYou are an expert machine-learning engineer"))
            #expect(text.contains("\n# Environment\n"))
            #expect(!text.contains("# Memory") && !text.contains("This run can take"))
            let user = try #require(body["messages"]?[0]?["content"]?.stringValue)
            #expect(user.hasPrefix("# This step\n\n"))
            #expect(request.header("anthropic-beta") == (setting == .oneHour ? PromptCacheSetting.extendedTTLBeta : nil))
        }
        #expect(prefixes.count == 1, "the prefix bytes differ between steps")
        #expect(tools.count == 1, "the tools differ between calls")
        #expect(tools.first?.contains("\"name\":\"\(Prompts.reviewFunction.name)\"") == true)
        let review: JSONValue = ["type": "tool", "name": .string(Prompts.reviewFunction.name)]
        #expect(choices == [["type": "none"], review, ["type": "none"], review, ["type": "none"], review])
        #expect(prefixes.first.map { $0.utf8.count / 4 >= 1024 } == true)
        let firstUser = try JSONValue.parse(requests[0].body)["messages"]?[0]?["content"]?.stringValue ?? ""
        #expect(firstUser.contains("Write a first solution"))

        // The first code call wrote the cache; every later call, reviews included, read it.
        let calls = try search.store.calls(nodeID: nil).sorted { ($0.id ?? 0) < ($1.id ?? 0) }
        #expect(calls.count == 6)
        #expect(calls.map { ($0.cacheWriteTokens ?? 0) > 0 } == [true, false, false, false, false, false])
        #expect(calls.dropFirst().allSatisfy { ($0.cacheReadTokens ?? 0) == calls[0].cacheWriteTokens })
        // One-hour writes are stored apart and priced (and counted in the savings) at 2× the input rate.
        #expect(calls[0].cacheWriteLongTokens == (setting == .oneHour ? calls[0].cacheWriteTokens : nil))
        let writer = try #require(ModelTable.spec(for: "claude-sonnet-4-5"))
        var firstUsage = TokenUsage(
            input: calls[0].inputTokens, output: calls[0].outputTokens, cacheRead: 0, cacheWrite: calls[0].cacheWriteTokens)
        firstUsage.cacheWriteLong = setting == .oneHour ? calls[0].cacheWriteTokens : nil
        #expect(abs((calls[0].cacheSavingsUSD ?? 0) - writer.cacheSavings(of: firstUsage)) < 1e-12)
        #expect(abs((calls[0].costUSD ?? 0) - writer.cost(of: firstUsage)) < 1e-12)
        let premium = setting == .oneHour ? 3.0 : 0.75  // USD per million written: 2× or 1.25× of $3, less $3
        #expect(abs((calls[0].cacheSavingsUSD ?? 0) + Double(calls[0].cacheWriteTokens ?? 0) * premium / 1e6) < 1e-12)
        let spec = try #require(ModelTable.spec(for: "claude-sonnet-4-5"))
        for call in calls where (call.cacheReadTokens ?? 0) > 0 {
            let usage = TokenUsage(input: call.inputTokens, output: call.outputTokens, cacheRead: call.cacheReadTokens, cacheWrite: 0)
            #expect(abs((call.costUSD ?? 0) - spec.cost(of: usage)) < 1e-12)
            #expect(spec.cacheSavings(of: usage) > 0)
        }

        // The report: cached tokens and the USD saved, per run and per call, in text, JSON and HTML.
        let report = try RunReport.load(search.store)
        let read = calls.reduce(0) { $0 + ($1.cacheReadTokens ?? 0) }
        #expect(report.totals.cachedInputTokens == read && read > 0)
        let saved = calls.compactMap(\.cacheSavingsUSD).reduce(0, +)
        #expect(abs(report.totals.cacheSavingsUSD - saved) < 1e-12)
        #expect(saved > 0, "five reads save more than one write costs")
        let text = try ReportRenderer.render(report, format: .text)
        #expect(text.contains("prompt cache: \(read) input tokens read ("))
        let json = try ReportRenderer.render(report, format: .json)
        #expect(json.contains("\"cached_input_tokens\" : \(read)") && json.contains("\"cache_savings_usd\""))
        let detail = try NodeDetail.load(search.store, node: nodes[2].id)
        #expect(try ReportRenderer.render(detail, format: .text).contains(" cached · cache saved $"))
        let page = try HTMLReport.load(search.store)
        #expect(page.contains("\"cache_savings_usd\"") && page.contains("input tokens cached · saved "))

        // A bench case reads the same figures from its run (BENCH_JSON's cached_input_tokens, cache_savings_usd).
        var result = BenchSummary.CaseResult(
            index: 0, task: "synthetic", seed: 7, status: .finished, attempts: 1, exitStatus: 0, message: nil, runID: nil,
            runFolder: nil, runStatus: nil, validSubmission: false, bestMetric: nil, bestTestScore: nil, steps: 0,
            goodNodes: 0, stepsToBest: nil, secondsToBest: nil, inputTokens: 0, outputTokens: 0, costUSD: 0,
            wallSeconds: 0, thresholdsReached: [])
        result.fill(report, snapshot: try search.store.snapshot(), graded: false, thresholds: nil)
        #expect(result.cachedInputTokens == read && abs(result.cacheSavingsUSD - saved) < 1e-12)
    }

    @Test func aShortPrefixGetsNoBreakpointAndOffSendsNone() throws {
        let long = String(repeating: "A stable line of the prefix.\n", count: 200)
        let options = { (setting: PromptCacheSetting?, model: String) in
            var options = ModelOptions(model: model)
            options.promptCache = setting
            return options
        }
        func system(_ text: String, _ o: ModelOptions) throws -> JSONValue? {
            try AnthropicBackend.requestBody(system: text, user: "step", funcSpec: nil, options: o, streaming: false).body["system"]
        }
        #expect(try system("short", options(.auto, "claude-sonnet-4-5")) == "short")
        #expect(try system(long, options(.off, "claude-sonnet-4-5")) == .string(long))
        #expect(try system(long, options(nil, "claude-sonnet-4-5")) == .string(long))
        #expect(try system(long, options(.auto, "claude-sonnet-4-5"))?[0]?["cache_control"] == ["type": "ephemeral"])
        // 5,800 bytes ≈ 1,450 tokens: enough for Sonnet (1,024), not for Haiku 4.5 (4,096).
        #expect(try system(long, options(.auto, "claude-haiku-4-5")) == .string(long))
    }

    @Test func openAIGetsThePromptCacheKeyOthersDoNot() throws {
        var options = ModelOptions(model: "gpt-4o")
        options.promptCache = .auto
        options.promptCacheKey = "aide-run-x"
        func body(_ provider: Provider, _ o: ModelOptions) throws -> JSONValue {
            try OpenAIBackend.requestBody(system: "s", user: "u", funcSpec: nil, options: o, provider: provider, streaming: false).body
        }
        #expect(try body(.openai, options)["prompt_cache_key"] == "aide-run-x")
        #expect(try body(.compatible, options)["prompt_cache_key"] == nil)
        options.promptCache = .off
        #expect(try body(.openai, options)["prompt_cache_key"] == nil)
        // Caching changes what a call costs, not what it answers: replay keys ignore it.
        var plain = options
        plain.promptCache = nil
        plain.promptCacheKey = nil
        #expect(CassetteRequest(system: "s", user: "u", funcSpec: nil, options: options).key
            == CassetteRequest(system: "s", user: "u", funcSpec: nil, options: plain).key)
    }

    @Test func cachedTokensArePricedAsTheProviderPricesThem() throws {
        let sonnet = try #require(ModelTable.spec(for: "claude-sonnet-4-5"))
        // 10,000 input tokens: 8,000 read, 0 written, at $3/M input and $0.30/M reads.
        let read = TokenUsage(input: 10_000, output: 0, cacheRead: 8_000, cacheWrite: 0)
        #expect(abs(sonnet.cost(of: read) - (2_000 * 3 + 8_000 * 0.3) / 1e6) < 1e-12)
        #expect(abs(sonnet.cacheSavings(of: read) - 8_000 * 2.7 / 1e6) < 1e-12)
        // Writes: 1.25× for five minutes, 2× for an hour; a write alone costs more than no cache.
        var written = TokenUsage(input: 10_000, output: 0, cacheRead: 0, cacheWrite: 8_000)
        #expect(abs(sonnet.cost(of: written) - (2_000 * 3 + 8_000 * 3.75) / 1e6) < 1e-12)
        written.cacheWriteLong = 8_000
        #expect(abs(sonnet.cost(of: written) - (2_000 * 3 + 8_000 * 6) / 1e6) < 1e-12)
        #expect(sonnet.cacheSavings(of: written) < 0)
        let gpt = try #require(ModelTable.spec(for: "gpt-4o"))
        #expect(abs(gpt.cacheSavings(of: TokenUsage(input: 4_000, output: 0, cacheRead: 2_048)) - 2_048 * 1.25 / 1e6) < 1e-12)
    }
}
