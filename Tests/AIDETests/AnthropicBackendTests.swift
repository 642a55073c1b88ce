import AIDETesting
import Foundation
import Synchronization
import Testing

@testable import AIDE

// Every test talks to a LoopbackServer speaking the Messages API as documented (AnthropicFixtures), and
// checks both what the backend SENT (method, path, headers, JSON body) and what it made of the answer.

private typealias F = AnthropicFixtures

// Malformed answers are not retried here: these tests check how they are reported (ProviderFaultTests retries them).
private let fastRetry = RetryPolicy(maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05, malformedAttempts: 1)

private func makeBackend(_ server: LoopbackServer, retry: RetryPolicy = fastRetry) -> AnthropicBackend {
    AnthropicBackend(
        endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "test-key"),
        http: HTTPClient(), settings: BackendSettings(retry: retry))
}

/// The JSON body of the `index`th request the server received.
private func sentBody(_ server: LoopbackServer, _ index: Int = 0) throws -> JSONValue {
    let requests = server.requests
    try #require(requests.indices.contains(index), "only \(requests.count) requests were received")
    return try JSONValue.parse(requests[index].body)
}

/// The keys of a JSON object.
private func keys(_ json: JSONValue) -> Set<String> { Set(json.objectValue?.keys.map { $0 } ?? []) }

/// Runs a query that must fail with an LLMError, and returns it.
private func expectLLMError(
    _ body: () async throws -> QueryResult, sourceLocation: SourceLocation = #_sourceLocation
) async -> LLMError? {
    do {
        let result = try await body()
        Issue.record("expected an LLMError, got \(result.output)", sourceLocation: sourceLocation)
    } catch let error as LLMError {
        return error
    } catch {
        Issue.record("expected an LLMError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Collects stream deltas from an observer (called on an arbitrary thread).
private final class AnthropicDeltaLog: Sendable {
    private let storage = Mutex<[StreamDelta]>([])
    var observer: StreamObserver { { delta in self.storage.withLock { $0.append(delta) } } }
    var deltas: [StreamDelta] { storage.withLock { $0 } }
    var text: String { deltas.map { if case .text(let t) = $0 { t } else { "" } }.joined() }
    var thinking: String { deltas.map { if case .thinking(let t) = $0 { t } else { "" } }.joined() }
    var arguments: String { deltas.map { if case .functionArguments(let t) = $0 { t } else { "" } }.joined() }
}

private let reviewSpec = FunctionSpec(
    name: "submit_review", description: "Submit a review of the solution.",
    parameters: [
        "type": "object",
        "properties": [
            "summary": ["type": "string", "description": "One paragraph."],
            "is_bug": ["type": "boolean"],
            "metric": ["type": ["number", "null"]],
        ],
        "required": ["summary", "is_bug"],
    ])
private let reviewInput = #"{"summary":"Looks fine: the CV score is \"0.93\".","is_bug":false,"metric":0.93}"#

private let webSearchTool: JSONValue = ["type": "web_search_20250305", "name": "web_search", "max_uses": 3]

@Suite("AnthropicBackend over the wire")
struct AnthropicBackendTests {

    // MARK: 1. Plain call

    @Test func plainCallSendsTheDocumentedRequestAndParsesTheMessage() async throws {
        let server = try LoopbackServer(script: [
            F.messageResponse(
                F.textMessage(text: "Hi there!", model: "claude-sonnet-4-5-20250929", inputTokens: 1000, outputTokens: 500,
                    id: "msg_plain"))
        ])
        let result = try await makeBackend(server).query(
            system: "You are terse.", user: "Say hi.", options: ModelOptions(model: "claude-sonnet-4-5"))

        #expect(server.requests.count == 1)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/messages")
        #expect(request.header("x-api-key") == "test-key")
        #expect(request.header("anthropic-version") == "2023-06-01")
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("accept") == "application/json")
        #expect(request.header("anthropic-beta") == nil)
        #expect(request.header("authorization") == nil)

        let body = try JSONValue.parse(request.body)
        #expect(keys(body) == ["model", "max_tokens", "system", "messages"])
        #expect(body["model"] == "claude-sonnet-4-5")
        #expect(body["max_tokens"] == 4096)
        #expect(body["system"] == "You are terse.")
        #expect(body["messages"] == [["role": "user", "content": "Say hi."]])

        #expect(result.output == .text("Hi there!"))
        #expect(result.usage == TokenUsage(input: 1000, output: 500, cacheRead: 0, cacheWrite: 0))
        #expect(result.info.provider == .anthropic)
        #expect(result.info.model == "claude-sonnet-4-5-20250929")
        #expect(result.info.responseID == "msg_plain")
        #expect(result.info.stopReason == "end_turn")
        #expect(result.info.finishReason == .stop)
        #expect(result.info.attempts == 1)
        #expect(result.info.streamed == false)
        #expect(result.info.thinking == nil)
        #expect(result.info.serverToolBlocks.isEmpty)
        #expect(result.info.droppedOptions.isEmpty)
        #expect(result.latency > 0)
        #expect(result.lastAttemptLatency > 0 && result.lastAttemptLatency <= result.latency)
        let cost = try #require(result.costUSD)
        #expect(abs(cost - (1000 * 3 / 1e6 + 500 * 15 / 1e6)) < 1e-12)
        #expect(abs(cost - 0.0105) < 1e-12)
    }

    @Test func costIsNilForAModelOutsideTheTable() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage(model: "claude-mystery-9"))])
        let result = try await makeBackend(server).query(
            system: nil, user: "Hello", options: ModelOptions(model: "claude-mystery-9"))
        #expect(result.costUSD == nil)
        #expect(result.info.model == "claude-mystery-9")
        #expect(try sentBody(server)["max_tokens"] == 4096)
    }

    @Test func cachedTokensCountAsInputAndArePricedAtCacheRates() async throws {
        let server = try LoopbackServer(script: [
            F.messageResponse(
                F.textMessage(
                    model: "claude-sonnet-4-5-20250929", inputTokens: 1000, outputTokens: 500, cacheCreationTokens: 400,
                    cacheReadTokens: 2000))
        ])
        let result = try await makeBackend(server).query(
            system: "s", user: "u", options: ModelOptions(model: "claude-sonnet-4-5-20250929"))
        #expect(result.usage == TokenUsage(input: 3400, output: 500, cacheRead: 2000, cacheWrite: 400))
        let dollars: Double = 1000 * 3 + 2000 * 0.3 + 400 * 3.75 + 500 * 15
        let expected = dollars / 1e6
        #expect(abs(try #require(result.costUSD) - expected) < 1e-12)
    }

    // MARK: 2. Options that are set are sent

    @Test func setOptionsAreSent() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage())])
        let options = ModelOptions(
            model: "claude-sonnet-4-5", temperature: 0.2, topP: 0.9, maxTokens: 1234, stop: ["END", "\n\nHuman:"],
            betas: ["a", "b"], serverTools: [webSearchTool],
            extra: ["top_k": 5, "metadata": ["user_id": "user-42"]])
        _ = try await makeBackend(server).query(system: "sys", user: "usr", options: options)

        let request = try #require(server.requests.first)
        #expect(request.header("anthropic-beta") == "a,b")
        let body = try JSONValue.parse(request.body)
        #expect(body["temperature"] == 0.2)
        #expect(body["top_p"] == 0.9)
        #expect(body["max_tokens"] == 1234)
        #expect(body["stop_sequences"] == ["END", "\n\nHuman:"])
        #expect(body["top_k"] == 5)
        #expect(body["metadata"] == ["user_id": "user-42"])
        #expect(body["tools"] == [webSearchTool])
        #expect(body["tool_choice"] == nil)
        #expect(body["thinking"] == nil)
        #expect(body["stream"] == nil)
        #expect(
            keys(body) == [
                "model", "max_tokens", "system", "messages", "temperature", "top_p", "stop_sequences", "tools", "top_k",
                "metadata",
            ])
    }

    @Test func extraKeysWinOverTheFieldsAndAnEmptyStopListIsNotSent() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage())])
        let options = ModelOptions(
            model: "claude-sonnet-4-5", temperature: 0.2, maxTokens: 1000, stop: [],
            extra: ["temperature": 0.7, "max_tokens": 77])
        _ = try await makeBackend(server).query(system: nil, user: "u", options: options)
        let body = try sentBody(server)
        #expect(body["temperature"] == 0.7)
        #expect(body["max_tokens"] == 77)
        #expect(body["stop_sequences"] == nil)
    }

    // MARK: 3. Turns and max_tokens

    @Test func systemOnlyQueryIsSentAsTheUserMessage() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage())])
        _ = try await makeBackend(server).query(
            system: "Write a haiku.", user: nil, options: ModelOptions(model: "claude-3-haiku-20240307"))
        let body = try sentBody(server)
        #expect(body["system"] == nil)
        #expect(body["messages"] == [["role": "user", "content": "Write a haiku."]])
        #expect(body["max_tokens"] == 4096)
    }

    @Test func queryWithoutAnyMessageFailsBeforeSending() async throws {
        let server = try LoopbackServer(script: [])
        let error = await expectLLMError {
            try await makeBackend(server).query(system: nil, user: nil, options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .invalidOptions = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: [
        ("claude-3-haiku-20240307", nil, 4096), ("claude-opus-4-5", nil, 4096), ("claude-3-5-sonnet-latest", nil, 4096),
        ("claude-3-haiku-20240307", 20_000, 20_000), ("claude-sonnet-4-5", 64, 64),
    ] as [(String, Int?, Int)])
    func maxTokensDefaultsToTheTableAndAnExplicitValueWins(model: String, asked: Int?, sent: Int) async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage())])
        _ = try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: model, maxTokens: asked))
        #expect(try sentBody(server)["max_tokens"] == .int(sent))
    }

    @Test func noAnthropicModelInTheTableCapsOutputBelowTheDefault() {
        // So the min(default, table) branch can only ever yield the default today.
        let anthropic = ModelTable.all.filter { $0.provider == .anthropic }
        #expect(!anthropic.isEmpty)
        #expect(anthropic.allSatisfy { $0.maxOutput >= AnthropicBackend.defaultMaxTokens })
    }

    @Test func turnsAreNormalizedToAlternateAndOpenWithTheUser() {
        let merged = AnthropicTurn.normalized([
            AnthropicTurn(role: "user", text: "a"), AnthropicTurn(role: "user", text: "b"),
            AnthropicTurn(role: "assistant", text: "c"), AnthropicTurn(role: "assistant", text: "d"),
            AnthropicTurn(role: "user", text: "e"),
        ])
        #expect(
            merged == [
                AnthropicTurn(role: "user", text: "a\n\nb"), AnthropicTurn(role: "assistant", text: "c\n\nd"),
                AnthropicTurn(role: "user", text: "e"),
            ])
        let opened = AnthropicTurn.normalized([AnthropicTurn(role: "assistant", text: "x")])
        #expect(opened.first?.role == "user")
        #expect(opened.map(\.role) == ["user", "assistant"])
        #expect(AnthropicTurn.normalized([]).isEmpty)
        #expect(AnthropicTurn(role: "user", text: "t").json == ["role": "user", "content": "t"])
    }

    // MARK: 4. Function calls

    @Test func functionSpecIsForcedAndTheToolInputBecomesTheOutput() async throws {
        let server = try LoopbackServer(script: [
            F.messageResponse(F.toolUseMessage(name: "submit_review", input: reviewInput, preamble: "Submitting."))
        ])
        let result = try await makeBackend(server).query(
            system: "Review.", user: "Code…", funcSpec: reviewSpec, options: ModelOptions(model: "claude-sonnet-4-5"))

        let body = try sentBody(server)
        #expect(
            body["tools"] == [
                ["name": "submit_review", "description": "Submit a review of the solution.", "input_schema": reviewSpec.parameters]
            ])
        #expect(body["tool_choice"] == ["type": "tool", "name": "submit_review"])
        #expect(result.output == .functionCall(name: "submit_review", arguments: try JSONValue.parse(reviewInput)))
        #expect(result.output.arguments?["summary"] == #"Looks fine: the CV score is "0.93"."#)
        #expect(result.info.stopReason == "tool_use")
        #expect(result.info.finishReason == .functionCall)
        #expect(result.info.serverToolBlocks.isEmpty)
    }

    @Test func serverToolsAndTheFunctionAreSentTogether() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.toolUseMessage(name: "submit_review", input: reviewInput))])
        _ = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: reviewSpec,
            options: ModelOptions(model: "claude-sonnet-4-5", serverTools: [webSearchTool]))
        let tools = try #require(try sentBody(server)["tools"]?.arrayValue)
        #expect(tools.count == 2)
        #expect(tools.first == webSearchTool)
        #expect(tools.last?["name"] == "submit_review")
    }

    @Test func answerWithoutToolUseIsAMissingFunctionCall() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage(text: "I would rather not."))])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .missingFunctionCall(let expected, let found) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(expected == "submit_review")
        #expect(found.contains("I would rather not."))
        #expect(server.requests.count == 1)
    }

    @Test func toolUseOfAnotherNameIsTheWrongFunction() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.toolUseMessage(name: "get_weather", input: "{}"))])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .wrongFunctionCalled(let expected, let called) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(expected == "submit_review")
        #expect(called == "get_weather")
        #expect(server.requests.count == 1)
    }

    @Test func aFunctionSpecProblemSaysWhereInTheSchema() {
        let cases: [(FunctionSpec, FunctionSpecProblem, String)] = [
            (FunctionSpec(
                name: "f", description: "d",
                parameters: ["type": "object", "properties": ["a": ["type": "string"]], "required": ["a", "missing"]]),
             .requiredUndeclared(path: "parameters", name: "missing"),
             "parameters.required names 'missing', which is not in its properties"),
            (FunctionSpec(name: "f", description: "d", parameters: ["type": "object", "properties": ["a": ["type": "text"]]]),
             .badType(path: "parameters.properties.a", found: "\"text\""),
             "parameters.properties.a.type is \"text\"; expected one of array, boolean, integer, null, number, object, string"),
            (FunctionSpec(name: "has space", description: "d", parameters: ["type": "object"]), .badName("has space"),
             "function name 'has space' must be 1-64 characters of letters, digits, '_' or '-'"),
        ]
        for (spec, expected, words) in cases {
            do {
                try spec.validate()
                Issue.record("\(spec.name): expected \(expected)")
            } catch {
                guard case .invalidFunctionSpec(let problem)? = error as? LLMError else {
                    Issue.record("got \(error)")
                    continue
                }
                #expect(problem == expected)
                #expect("\(error)" == "invalid function spec: " + words)
            }
        }
    }

    @Test(arguments: [
        FunctionSpec(name: "f", description: "d", parameters: ["type": "array", "items": ["type": "string"]]),
        FunctionSpec(
            name: "f", description: "d",
            parameters: ["type": "object", "properties": ["a": ["type": "string"]], "required": ["a", "missing"]]),
        FunctionSpec(name: "has space", description: "d", parameters: ["type": "object"]),
        FunctionSpec(name: "f", description: "d", parameters: ["type": "object", "properties": ["a": ["type": "text"]]]),
    ])
    func invalidFunctionSpecFailsBeforeAnyRequest(spec: FunctionSpec) async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.toolUseMessage(name: "f", input: "{}"))])
        for stream in [false, true] {
            let error = await expectLLMError {
                try await makeBackend(server).query(
                    system: nil, user: "u", funcSpec: spec, options: ModelOptions(model: "claude-sonnet-4-5", stream: stream))
            }
            guard case .invalidFunctionSpec = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
        }
        #expect(server.requests.isEmpty)
    }

    // MARK: 5. Extended thinking

    @Test func thinkingBudgetIsSentAtTemperatureOneAndTheThinkingIsKept() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.thinkingMessage())])
        let result = try await makeBackend(server).query(
            system: nil, user: "27 * 453?",
            options: ModelOptions(model: "claude-sonnet-4-5", temperature: 0.2, maxTokens: 8000, thinkingBudget: 2000))
        let body = try sentBody(server)
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 2000])
        #expect(body["temperature"] == 1)
        #expect(body["max_tokens"] == 8000)
        #expect(result.output == .text("27 * 453 = 12,231."))
        #expect(result.info.thinking == "Let me work through this step by step. 27 * 453 = 12231.")
        #expect(result.info.serverToolBlocks.isEmpty)
        // The asked-for temperature could not be sent; the result says so.
        #expect(result.info.droppedOptions == ["temperature"])
    }

    @Test func thinkingAtTemperatureOneOrUnsetDropsNothing() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.thinkingMessage()), F.messageResponse(F.thinkingMessage())])
        for temperature in [1.0, nil] as [Double?] {
            let result = try await makeBackend(server).query(
                system: nil, user: "u",
                options: ModelOptions(model: "claude-sonnet-4-5", temperature: temperature, thinkingBudget: 1024))
            #expect(result.info.droppedOptions.isEmpty)
        }
        #expect(try sentBody(server, 1)["temperature"] == 1)
    }

    @Test func thinkingBudgetBelowTheAPIMinimumFailsBeforeSending() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.thinkingMessage())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", thinkingBudget: 500))
        }
        guard case .invalidOptions(let problem) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(problem == .thinkingBudgetTooSmall(budget: 500, minimum: 1024))
        #expect(problem.description.contains("minimum of 1024"))
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: [(4096, nil), (5000, 5000), (6000, 5000)] as [(Int, Int?)])
    func thinkingBudgetNotBelowMaxTokensFailsBeforeSending(budget: Int, maxTokens: Int?) async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.thinkingMessage())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u",
                options: ModelOptions(model: "claude-sonnet-4-5", maxTokens: maxTokens, thinkingBudget: budget))
        }
        guard case .invalidOptions(.thinkingBudgetNotBelowMaxTokens(budget, _)) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(server.requests.isEmpty)
    }

    @Test func thinkingWithAFunctionLeavesTheToolChoiceToTheModel() async throws {
        let blocks: [F.Block] = [
            .thinking("The review should say it looks fine.", signature: F.defaultSignature),
            .toolUse(id: F.defaultToolUseID, name: "submit_review", input: reviewInput),
        ]
        let server = try LoopbackServer(script: [F.messageResponse(F.message(blocks, stopReason: "tool_use"))])
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: reviewSpec,
            options: ModelOptions(model: "claude-sonnet-4-5", maxTokens: 4000, thinkingBudget: 2000))
        #expect(try sentBody(server)["tool_choice"] == ["type": "auto"])
        #expect(result.output.arguments == (try JSONValue.parse(reviewInput)))
        #expect(result.info.thinking == "The review should say it looks fine.")
        #expect(result.info.finishReason == .functionCall)
    }

    @Test func severalThinkingBlocksAreJoinedAndRedactedThinkingIsNotAServerBlock() async throws {
        let blocks: [F.Block] = [
            .thinking("First.", signature: "sig1"), .redactedThinking(data: "EmwKAhgBEgy3va3pzix"),
            .thinking("Second.", signature: "sig2"), .text("Done."),
        ]
        let server = try LoopbackServer(script: [F.messageResponse(F.message(blocks)), F.sseResponse(F.stream(blocks))])
        let backend = makeBackend(server)
        let options = ModelOptions(model: "claude-sonnet-4-5", maxTokens: 4000, thinkingBudget: 2000)
        for stream in [false, true] {
            var streamed = options
            streamed.stream = stream
            let result = try await backend.query(system: nil, user: "u", options: streamed)
            #expect(result.output == .text("Done."))
            #expect(result.info.thinking == "First.\n\nSecond.")
            #expect(result.info.serverToolBlocks.isEmpty)
        }
    }

    // MARK: 6. Server-side tools

    @Test func serverToolBlocksAreKeptVerbatimAndTheTextIsJoined() async throws {
        let server = try LoopbackServer(script: [
            F.messageResponse(F.serverToolMessage()), F.sseResponse(F.serverToolStream(chunkSize: 6)),
        ])
        let backend = makeBackend(server)
        let expectedBlocks = try F.webSearchBlocks().filter {
            if case .text = $0 { false } else { true }
        }.map { try JSONValue.parse($0.json) }
        for stream in [false, true] {
            let result = try await backend.query(
                system: nil, user: "When was Claude Shannon born?",
                options: ModelOptions(model: "claude-sonnet-4-5", stream: stream, serverTools: [webSearchTool]))
            #expect(
                result.output
                    == .text(
                        "I'll search for when Claude Shannon was born.Based on the search results, "
                            + "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan"))
            let blocks = result.info.serverToolBlocks
            #expect(blocks.map { $0["type"] } == ["server_tool_use", "web_search_tool_result"])
            #expect(blocks == expectedBlocks)
            #expect(blocks.first?["input"] == ["query": "claude shannon birth date"])
            #expect(blocks.last?["tool_use_id"] == .string(F.defaultServerToolUseID))
            #expect(blocks.last?["content"]?[0]?["url"] == "https://en.wikipedia.org/wiki/Claude_Shannon")
            #expect(result.usage.input == 6039 && result.usage.output == 931)
            #expect(result.info.streamed == stream)
        }
        #expect(try sentBody(server, 0)["tools"] == [webSearchTool])
        #expect(try sentBody(server, 1)["tools"] == [webSearchTool])
    }

    // MARK: 7. Streaming

    enum Scenario: String, CaseIterable, Sendable {
        case text, cachedText, toolUse, thinking, thinkingToolUse, serverTools, maxTokens

        var blocks: [AnthropicFixtures.Block] {
            switch self {
            case .text, .cachedText: [.text("The quick brown fox jumps over the lazy dog. ✓ naïve café")]
            case .toolUse: F.toolUseBlocks(name: "submit_review", input: reviewInput, preamble: "Let me submit that.")
            case .thinking: [.thinking("Step one… step two.", signature: F.defaultSignature), .text("Answer: 42")]
            case .thinkingToolUse:
                [
                    .thinking("Decide.", signature: F.defaultSignature),
                    .toolUse(id: F.defaultToolUseID, name: "submit_review", input: reviewInput),
                ]
            case .serverTools: F.webSearchBlocks()
            case .maxTokens: [.text("This answer was cut o")]
            }
        }
        var stopReason: String {
            switch self {
            case .toolUse, .thinkingToolUse: "tool_use"
            case .maxTokens: "max_tokens"
            default: "end_turn"
            }
        }
        var usage: AnthropicFixtures.Usage {
            switch self {
            case .cachedText: F.Usage(input: 10, output: 30, cacheCreation: 100, cacheRead: 2000)
            case .serverTools: F.Usage(input: 6039, output: 931, webSearchRequests: 1)
            default: F.Usage(input: 120, output: 45)
            }
        }
        var funcSpec: FunctionSpec? { [.toolUse, .thinkingToolUse].contains(self) ? reviewSpec : nil }
        var options: ModelOptions {
            switch self {
            case .thinking, .thinkingToolUse: ModelOptions(model: "claude-opus-4-5", maxTokens: 4000, thinkingBudget: 2000)
            case .serverTools: ModelOptions(model: "claude-opus-4-5", serverTools: [webSearchTool])
            default: ModelOptions(model: "claude-opus-4-5")
            }
        }
        var meta: AnthropicFixtures.Meta { F.Meta(id: "msg_\(rawValue)", model: "claude-opus-4-5-20251101") }
        var whole: String { F.message(blocks, meta: meta, stopReason: stopReason, usage: usage) }
        func events(chunkSize: Int = 5) -> [String] {
            F.stream(blocks, meta: meta, stopReason: stopReason, usage: usage, chunkSize: chunkSize)
        }
    }

    @Test(arguments: Scenario.allCases)
    func streamedAnswerEqualsTheWholeOne(scenario: Scenario) async throws {
        let server = try LoopbackServer(script: [F.messageResponse(scenario.whole), F.sseResponse(scenario.events())])
        let backend = makeBackend(server)
        let whole = try await backend.query(
            system: "sys", user: "usr", funcSpec: scenario.funcSpec, options: scenario.options)
        var streamingOptions = scenario.options
        streamingOptions.stream = true
        let streamed = try await backend.query(
            system: "sys", user: "usr", funcSpec: scenario.funcSpec, options: streamingOptions)

        #expect(streamed.output == whole.output)
        #expect(streamed.usage == whole.usage)
        #expect(streamed.info.stopReason == whole.info.stopReason)
        #expect(streamed.info.stopReason == scenario.stopReason)
        #expect(streamed.info.finishReason == whole.info.finishReason)
        #expect(streamed.info.responseID == whole.info.responseID)
        #expect(streamed.info.responseID == "msg_\(scenario.rawValue)")
        #expect(streamed.info.model == whole.info.model)
        #expect(streamed.info.thinking == whole.info.thinking)
        #expect(streamed.info.serverToolBlocks == whole.info.serverToolBlocks)
        #expect(streamed.info.droppedOptions == whole.info.droppedOptions)
        #expect(streamed.info.attempts == 1 && whole.info.attempts == 1)
        #expect(streamed.costUSD == whole.costUSD)
        #expect(streamed.costUSD != nil)
        #expect(whole.info.streamed == false)
        #expect(streamed.info.streamed == true)

        // What was sent: the same body, plus "stream": true, and an event-stream accept header.
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests.first?.header("accept") == "application/json")
        #expect(requests.last?.header("accept") == "text/event-stream")
        let wholeBody = try sentBody(server, 0)
        var streamedBody = try #require(try sentBody(server, 1).objectValue)
        #expect(wholeBody["stream"] == nil)
        #expect(streamedBody.removeValue(forKey: "stream") == true)
        #expect(JSONValue.object(streamedBody) == wholeBody)
    }

    @Test func observerReceivesTheTextDeltasInOrder() async throws {
        let text = "The quick brown fox jumps over the lazy dog."
        let server = try LoopbackServer(script: [F.sseResponse(F.textStream(text: text, chunkSize: 5), delay: 0.002)])
        let log = AnthropicDeltaLog()
        // An observer alone turns streaming on.
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5"), observer: log.observer)
        #expect(log.deltas == F.chunks(text, size: 5).map { .text($0) })
        #expect(log.text == result.output.text)
        #expect(result.info.streamed)
        #expect(try sentBody(server)["stream"] == true)
        #expect(server.requests.first?.header("accept") == "text/event-stream")
    }

    @Test func inputJSONDeltasFoldIntoTheFunctionArguments() async throws {
        let server = try LoopbackServer(script: [
            F.sseResponse(F.toolUseStream(name: "submit_review", input: reviewInput, preamble: "Calling.", chunkSize: 3))
        ])
        let log = AnthropicDeltaLog()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "claude-sonnet-4-5"),
            observer: log.observer)
        #expect(result.output == .functionCall(name: "submit_review", arguments: try JSONValue.parse(reviewInput)))
        #expect(result.info.finishReason == .functionCall)
        #expect(log.arguments == reviewInput)
        let fragments = log.deltas.compactMap { if case .functionArguments(let f) = $0, !f.isEmpty { f } else { nil } }
        #expect(fragments == F.chunks(reviewInput, size: 3))
        #expect(fragments.count > 10)
        #expect(log.text == "Calling.")
    }

    @Test func thinkingAndSignatureDeltasFold() async throws {
        let thinking = "Let me think. 6 * 7 = 42."
        let server = try LoopbackServer(script: [
            F.sseResponse(F.thinkingStream(thinking: thinking, text: "42", chunkSize: 4))
        ])
        let log = AnthropicDeltaLog()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil,
            options: ModelOptions(model: "claude-sonnet-4-5", maxTokens: 4000, thinkingBudget: 1024), observer: log.observer)
        #expect(result.info.thinking == thinking)
        #expect(result.output == .text("42"))
        #expect(log.deltas == F.chunks(thinking, size: 4).map { .thinking($0) } + [.text("42")])
    }

    @Test func pingsUnknownEventsAndArbitraryChunkingAreHarmless() async throws {
        var events = Scenario.serverTools.events(chunkSize: 7)
        // A ping and two event types this client does not know, in the middle of the stream.
        let middle = events.count / 2
        events.insert(F.ping, at: middle)
        events.insert(F.event("message_annotation", #"{"type":"message_annotation","note":{"a":[1,2]}}"#), at: middle)
        events.insert(F.contentBlockDelta(index: 3, #"{"type":"future_delta","x":1}"#), at: events.count - 3)
        events.insert(": keep-alive comment\n\n", at: 1)
        // And the whole stream re-cut into 13-byte pieces, splitting lines, events and UTF-8 sequences.
        let bytes = Array(events.joined().utf8)
        let parts: [LoopbackResponse.Part] = stride(from: 0, to: bytes.count, by: 13).map {
            .bytes(Data(bytes[$0..<min($0 + 13, bytes.count)]))
        }
        let recut = LoopbackResponse(status: 200, headers: [("Content-Type", "text/event-stream")], parts: parts, chunked: true)
        let server = try LoopbackServer(script: [F.messageResponse(Scenario.serverTools.whole), recut])
        let backend = makeBackend(server)
        let whole = try await backend.query(system: nil, user: "u", options: Scenario.serverTools.options)
        var options = Scenario.serverTools.options
        options.stream = true
        let streamed = try await backend.query(system: nil, user: "u", options: options)
        #expect(streamed.output == whole.output)
        #expect(streamed.usage == whole.usage)
        #expect(streamed.info.serverToolBlocks == whole.info.serverToolBlocks)
        #expect(streamed.info.stopReason == "end_turn")
    }

    @Test func aServerAnsweringJSONToAStreamedRequestIsReadWhole() async throws {
        let server = try LoopbackServer(script: [F.messageResponse(F.textMessage(text: "whole"))])
        let log = AnthropicDeltaLog()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5"), observer: log.observer)
        #expect(result.output == .text("whole"))
        // The observer still sees the answer, once, after the body is decoded.
        #expect(log.deltas == [.text("whole")])
    }

    // MARK: 8. Error events

    @Test func errorEventAfterTextIsAStreamErrorAndNotRetried() async throws {
        let events = [
            F.messageStart(), F.ping, F.contentBlockStart(index: 0, #"{"type":"text","text":""}"#),
            F.textDelta(index: 0, "Partial "), F.textDelta(index: 0, "answer"), F.errorEvent(),
        ]
        let server = try LoopbackServer(script: [F.sseResponse(events), F.sseResponse(F.textStream())])
        let log = AnthropicDeltaLog()
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5"), observer: log.observer)
        }
        guard case .streamError(let provider, let type, let message, let afterOutput) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(provider == .anthropic)
        #expect(type == "overloaded_error")
        #expect(message == "Overloaded")
        #expect(afterOutput)
        #expect(server.requests.count == 1)
        #expect(log.text == "Partial answer")
    }

    @Test(arguments: [true, false])
    func overloadedErrorEventBeforeAnyContentIsRetried(afterMessageStart: Bool) async throws {
        let failing = (afterMessageStart ? [F.messageStart(), F.ping] : []) + [F.errorEvent()]
        let server = try LoopbackServer(script: [F.sseResponse(failing), F.sseResponse(F.textStream(text: "second try"))])
        let log = AnthropicDeltaLog()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5"), observer: log.observer)
        #expect(result.output == .text("second try"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
        #expect(log.text == "second try")
    }

    @Test func nonTransientErrorEventBeforeContentIsNotRetried() async throws {
        let server = try LoopbackServer(script: [
            F.sseResponse([F.messageStart(), F.errorEvent(type: "invalid_request_error", message: "prompt is too long")]),
            F.sseResponse(F.textStream()),
        ])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", stream: true))
        }
        guard case .streamError(_, let type, let message, let afterOutput) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(type == "invalid_request_error")
        #expect(message == "prompt is too long")
        #expect(!afterOutput)
        #expect(server.requests.count == 1)
    }

    // MARK: 9. Faults

    @Test(arguments: [400, 401, 403, 404, 413])
    func clientErrorsFailAtOnceInTheProvidersWords(status: Int) async throws {
        for stream in [false, true] {
            let server = try LoopbackServer(script: [
                F.errorResponse(status: status, requestID: "req_\(status)"), F.messageResponse(F.textMessage()),
            ])
            let error = await expectLLMError {
                try await makeBackend(server).query(
                    system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", stream: stream))
            }
            guard case .api(let api) = error else {
                Issue.record("got \(String(describing: error))")
                continue
            }
            #expect(api.provider == .anthropic)
            #expect(api.status == status)
            #expect(api.type == F.errorType(forStatus: status))
            #expect(api.message == F.errorMessage(forStatus: status))
            #expect(api.requestID == "req_\(status)")
            #expect(server.requests.count == 1)
            #expect(error?.description.contains(F.errorMessage(forStatus: status)) == true)
        }
    }

    @Test func requestIDIsTakenFromTheBodyWhenTheHeaderIsMissing() async throws {
        let server = try LoopbackServer(script: [
            F.errorResponse(status: 400, message: "max_tokens: Field required", requestID: "req_body_only", requestIDHeader: false)
        ])
        let error = await expectLLMError {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .api(let api) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(api.requestID == "req_body_only")
        #expect(api.message == "max_tokens: Field required")
        #expect(api.type == "invalid_request_error")
    }

    @Test(arguments: [429, 500, 529])
    func transientStatusesAreRetried(status: Int) async throws {
        for stream in [false, true] {
            let success = stream ? F.sseResponse(F.textStream(text: "ok")) : F.messageResponse(F.textMessage(text: "ok"))
            let server = try LoopbackServer(script: [F.errorResponse(status: status), success])
            let result = try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", stream: stream))
            #expect(result.output == .text("ok"))
            #expect(result.info.attempts == 2)
            #expect(server.requests.count == 2)
            // The retry is the same request.
            #expect(server.requests.first?.body == server.requests.last?.body)
        }
    }

    @Test func retryAfterMillisecondsIsHonoured() async throws {
        let server = try LoopbackServer(script: [
            F.errorResponse(status: 429, headers: [("retry-after-ms", "300")]), F.messageResponse(F.textMessage()),
        ])
        let result = try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        #expect(result.latency >= 0.3)
        #expect(result.lastAttemptLatency < result.latency)
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
    }

    @Test func retryAfterSecondsIsHonoured() async throws {
        let server = try LoopbackServer(script: [
            F.errorResponse(status: 529, headers: [("retry-after", "1")]), F.messageResponse(F.textMessage()),
        ])
        let result = try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        #expect(result.latency >= 1.0)
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
    }

    @Test func exhaustingTheAttemptsGivesUpWithTheLastError() async throws {
        let server = try LoopbackServer(script: [
            F.errorResponse(status: 529, requestID: "req_1"), F.errorResponse(status: 500, requestID: "req_2"),
            F.errorResponse(status: 529, requestID: "req_3"), F.messageResponse(F.textMessage()),
        ])
        let error = await expectLLMError {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .gaveUp(let attempts, let seconds, let last, _) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(attempts == fastRetry.maxAttempts)
        #expect(seconds > 0)
        guard case .api(let api) = last else {
            Issue.record("last error: \(last)")
            return
        }
        #expect(api.status == 529)
        #expect(api.type == "overloaded_error")
        #expect(api.requestID == "req_3")
        #expect(server.requests.count == 3)
        #expect(error?.description.contains("Overloaded") == true)
    }

    @Test func streamHangingUpBeforeAnyOutputIsRetried() async throws {
        let server = try LoopbackServer(script: [
            F.sseResponse([F.messageStart(), F.ping], hangUp: true), F.sseResponse(F.textStream(text: "recovered")),
        ])
        let result = try await makeBackend(server).query(
            system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", stream: true))
        #expect(result.output == .text("recovered"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
    }

    @Test func streamHangingUpAfterTextIsInterruptedAndNotRetried() async throws {
        let events = [
            F.messageStart(), F.ping, F.contentBlockStart(index: 0, #"{"type":"text","text":""}"#),
            F.textDelta(index: 0, "Hello, "), F.textDelta(index: 0, "wor"),
        ]
        let server = try LoopbackServer(script: [F.sseResponse(events, hangUp: true), F.sseResponse(F.textStream())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5", stream: true),
                observer: { _ in })
        }
        guard case .streamInterrupted(let provider, let received, _, let beforeOutput) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(provider == .anthropic)
        #expect(!beforeOutput)
        #expect(received.contains("10 characters of text"))
        #expect(error?.description.contains("10 characters of text") == true)
        #expect(server.requests.count == 1)
    }

    @Test func streamHangingUpDuringThinkingSaysHowMuchThinkingArrived() async throws {
        let events = [
            F.messageStart(), F.contentBlockStart(index: 0, #"{"type":"thinking","thinking":""}"#),
            F.thinkingDelta(index: 0, "Let me think "), F.thinkingDelta(index: 0, "hard"),
        ]
        let server = try LoopbackServer(script: [F.sseResponse(events, hangUp: true), F.sseResponse(F.thinkingStream())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u",
                funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5", maxTokens: 4000, thinkingBudget: 2000, stream: true),
                observer: { _ in })
        }
        guard case .streamInterrupted(_, let received, _, let beforeOutput) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(!beforeOutput)
        #expect(received.contains("0 characters of text"))
        #expect(received.contains("17 of thinking"))
        #expect(server.requests.count == 1)
    }

    @Test func streamClosedCleanlyBeforeMessageStopIsInterrupted() async throws {
        let events = [
            F.messageStart(), F.contentBlockStart(index: 0, #"{"type":"text","text":""}"#), F.textDelta(index: 0, "abc"),
            F.contentBlockStop(index: 0),
        ]
        let server = try LoopbackServer(script: [F.sseResponse(events), F.sseResponse(F.textStream())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "claude-sonnet-4-5", stream: true),
                observer: { _ in })
        }
        guard case .streamInterrupted(_, let received, let cause, let beforeOutput) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(!beforeOutput)
        #expect(received.contains("3 characters of text"))
        #expect(cause.contains("before its final event"))
        #expect(server.requests.count == 1)
    }

    @Test func nonJSONBodyIsMalformedWithAnExcerpt() async throws {
        let html = "<html><body>502 Bad Gateway</body></html>"
        let server = try LoopbackServer(script: [
            LoopbackResponse(status: 200, headers: [("Content-Type", "text/html")], parts: [.text(html)]),
            F.messageResponse(F.textMessage()),
        ])
        let error = await expectLLMError {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .malformedResponse(let provider, let reason, let excerpt) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(provider == .anthropic)
        #expect(reason.contains("not JSON"))
        #expect(excerpt.contains("502 Bad Gateway"))
        #expect(server.requests.count == 1)
    }

    @Test(arguments: [
        (#"{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#, "content"),
        (#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":"text?","usage":{"input_tokens":1,"output_tokens":1}}"#, "content"),
        (#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}]}"#, "usage"),
        (#"[{"type":"text","text":"hi"}]"#, "JSON object"),
        (#"{"content":[{"type":"text""#, "not JSON"),
        ("", "not JSON"),
    ])
    func malformedJSONBodiesAreReportedNotCrashed(body: String, reasonMentions: String) async throws {
        let server = try LoopbackServer(script: [F.messageResponse(body)])
        let error = await expectLLMError {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        }
        guard case .malformedResponse(_, let reason, let excerpt) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(reason.contains(reasonMentions))
        #expect(excerpt == body)
        #expect(server.requests.count == 1)
    }

    @Test(arguments: [
        [F.messageStart(), F.event("content_block_delta", "{not json")],
        [F.messageStart(), F.textDelta(index: 0, "orphan delta")],
        [F.messageStart(), F.event("content_block_start", #"{"type":"content_block_start","index":-1,"content_block":{"type":"text","text":""}}"#)],
        [F.messageStart(), F.event("content_block_start", #"{"type":"content_block_start","content_block":{"type":"text","text":""}}"#)],
        [F.messageStop],
    ])
    func malformedStreamsAreReportedNotCrashed(events: [String]) async throws {
        let server = try LoopbackServer(script: [F.sseResponse(events), F.sseResponse(F.textStream())])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5", stream: true))
        }
        guard case .malformedResponse(let provider, _, _) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(provider == .anthropic)
        #expect(server.requests.count == 1)
    }

    @Test func truncatedStreamedToolInputIsInvalidArguments() async throws {
        let events = [
            F.messageStart(),
            F.contentBlockStart(index: 0, #"{"type":"tool_use","id":"toolu_1","name":"submit_review","input":{}}"#),
            F.inputJSONDelta(index: 0, #"{"summary":"cut"#), F.contentBlockStop(index: 0),
            F.messageDelta(stopReason: "max_tokens", outputTokens: 4096), F.messageStop,
        ]
        let server = try LoopbackServer(script: [F.sseResponse(events)])
        let error = await expectLLMError {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "claude-sonnet-4-5", stream: true))
        }
        guard case .invalidFunctionArguments(let function, _, let raw) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(function == "submit_review")
        #expect(raw == #"{"summary":"cut"#)
    }

    // MARK: Fixtures

    @Test func fixturesAreTheDocumentedShapes() throws {
        let message = try JSONValue.parse(F.textMessage(text: "Hi", inputTokens: 3, outputTokens: 4))
        #expect(
            message
                == [
                    "id": .string(F.defaultID), "type": "message", "role": "assistant", "model": .string(F.defaultModel),
                    "content": [["type": "text", "text": "Hi"]], "stop_reason": "end_turn", "stop_sequence": .null,
                    "usage": [
                        "input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                    ],
                ])
        #expect(
            try JSONValue.parse(F.errorBody(status: 529))
                == [
                    "type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"],
                    "request_id": .string(F.defaultRequestID),
                ])
        // Every stream event is `event: <type>` with JSON data whose "type" is the same name.
        var parser = SSEParser()
        let events = parser.feed(F.serverToolStream().joined() + F.thinkingStream().joined() + F.errorEvent())
        #expect(events.count > 20)
        for event in events {
            let data = try JSONValue.parse(event.data)
            #expect(data["type"]?.stringValue == event.event)
        }
        #expect(F.chunks("abcdefg", size: 3) == ["abc", "def", "g"])
        #expect(F.chunks("", size: 3).isEmpty)
    }
}

