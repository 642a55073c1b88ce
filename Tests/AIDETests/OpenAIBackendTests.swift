@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

// Every test talks to a LoopbackServer over real HTTP through libcurl, and checks both what the
// client sent (method, path, headers, JSON body) and what it made of the answer.

private typealias F = OpenAIFixtures

private func makeBackend(
    _ server: LoopbackServer, provider: Provider = .openai, apiKey: String? = "sk-test"
) -> OpenAIBackend {
    OpenAIBackend(
        endpoint: ProviderEndpoint(provider: provider, baseURL: server.baseURL + "/v1", apiKey: apiKey),
        http: HTTPClient(),
        settings: BackendSettings(retry: RetryPolicy(maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05, malformedAttempts: 1)))
}

/// The request body as a JSONValue (so it compares with literals).
private func sentBody(_ server: LoopbackServer, _ index: Int = 0) throws -> JSONValue {
    let request = try #require(server.requests.indices.contains(index) ? server.requests[index] : nil)
    return try JSONValue.parse(request.body)
}

/// Collects stream deltas from the observer thread.
private final class DeltaRecorder: Sendable {
    private let storage = Mutex<[StreamDelta]>([])
    var observer: StreamObserver { { delta in self.storage.withLock { $0.append(delta) } } }
    var deltas: [StreamDelta] { storage.withLock { $0 } }
    var text: String {
        deltas.compactMap { if case .text(let text) = $0 { return text } else { return nil } }.joined()
    }
}

private let reviewSpec = FunctionSpec(
    name: "submit_review", description: "Submit a review of the run.",
    parameters: [
        "type": "object",
        "properties": [
            "is_bug": ["type": "boolean"],
            "summary": ["type": "string"],
        ],
        "required": ["is_bug", "summary"],
    ])

@Suite struct OpenAIBackendTests {
    // MARK: 1. Plain call

    @Test func plainCallSendsMinimalRequestAndParsesEverything() async throws {
        let usage = F.Usage(prompt: 1200, completion: 300, cached: 1024, reasoning: 64)
        let server = try LoopbackServer(script: [.json(200, F.completion("Hi there!", usage: usage))])
        let result = try await makeBackend(server).query(
            system: "You are terse.", user: "Say hi.", options: ModelOptions(model: "gpt-4o"))

        #expect(server.requests.count == 1)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/chat/completions")
        #expect(request.header("authorization") == "Bearer sk-test")
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("accept") == "application/json")
        #expect(request.header("x-title") == nil)
        let body = try sentBody(server)
        #expect(Set(body.objectValue?.keys.map { $0 } ?? []) == ["model", "messages"])
        #expect(body["model"] == "gpt-4o")
        #expect(
            body["messages"]
                == [["role": "system", "content": "You are terse."], ["role": "user", "content": "Say hi."]])
        for absent in ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice",
            "stream", "stream_options", "reasoning"]
        {
            #expect(body[absent] == nil, "\(absent) must not be sent when unset")
        }

        #expect(result.output == .text("Hi there!"))
        #expect(result.usage == TokenUsage(input: 1200, output: 300, cacheRead: 1024, cacheWrite: nil, reasoning: 64))
        #expect(result.info.provider == .openai)
        #expect(result.info.model == F.defaultModel)
        #expect(result.info.responseID == F.defaultID)
        #expect(result.info.systemFingerprint == F.defaultFingerprint)
        #expect(result.info.created == F.defaultCreated)
        #expect(result.info.stopReason == "stop")
        #expect(result.info.finishReason == .stop)
        #expect(result.info.attempts == 1)
        #expect(result.info.streamed == false)
        #expect(result.info.droppedOptions.isEmpty)
        #expect(result.latency >= result.lastAttemptLatency)
        #expect(result.lastAttemptLatency > 0)

        // gpt-4o: $2.50 / M input, $1.25 / M cached input, $10 / M output.
        // (1200 - 1024) × 2.5 + 1024 × 1.25 + 300 × 10 = 440 + 1280 + 3000 = 4720 µ$.
        let cost = try #require(result.costUSD)
        #expect(abs(cost - 0.004720) < 1e-12)
    }

    @Test func userOnlyAndSystemOnlyMessages() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion()), .json(200, F.completion())])
        let backend = makeBackend(server)
        _ = try await backend.query(system: nil, user: "only user", options: ModelOptions(model: "gpt-4o"))
        _ = try await backend.query(system: "only system", user: nil, options: ModelOptions(model: "gpt-4o"))
        #expect(try sentBody(server, 0)["messages"] == [["role": "user", "content": "only user"]])
        #expect(try sentBody(server, 1)["messages"] == [["role": "system", "content": "only system"]])

        let error = await #expect(throws: LLMError.self) {
            try await backend.query(system: nil, user: nil, options: ModelOptions(model: "gpt-4o"))
        }
        guard case .invalidOptions? = error else { Issue.record("expected invalidOptions, got \(String(describing: error))"); return }
        #expect(server.requests.count == 2)
    }

    @Test func unknownModelHasNoCost() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion(meta: F.Meta(model: "my-local-model")))])
        let result = try await makeBackend(server, provider: .compatible, apiKey: nil).query(
            system: nil, user: "hi", options: ModelOptions(model: "my-local-model"))
        #expect(result.costUSD == nil)
        #expect(result.info.model == "my-local-model")
        #expect(result.info.provider == .compatible)
    }

    static let finishReasons: [(String, FinishReason?)] = [
        ("stop", .stop), ("length", .length), ("tool_calls", .functionCall), ("content_filter", .contentFilter),
        ("something_new", nil),
    ]

    @Test(arguments: finishReasons)
    func finishReasonMapping(wire: String, mapped: FinishReason?) async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion("x", finishReason: wire))])
        let result = try await makeBackend(server).query(system: nil, user: "hi", options: ModelOptions(model: "gpt-4o"))
        #expect(result.info.stopReason == wire)
        #expect(result.info.finishReason == mapped)
    }

    // MARK: 2. Options

    @Test func optionsAreSentAndExtraIsMergedLast() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion())])
        let options = ModelOptions(
            model: "gpt-4o", temperature: 0.2, topP: 0.9, maxTokens: 256, stop: ["\n\n", "END"],
            extra: ["seed": 42, "response_format": ["type": "json_object"], "top_p": 0.5])
        let result = try await makeBackend(server).query(system: "s", user: "u", options: options)
        let body = try sentBody(server)
        #expect(body["temperature"]?.doubleValue == 0.2)
        #expect(body["top_p"]?.doubleValue == 0.5, "extra wins over the typed option")
        #expect(body["max_tokens"]?.intValue == 256)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["stop"] == ["\n\n", "END"])
        #expect(body["seed"]?.intValue == 42)
        #expect(body["response_format"] == ["type": "json_object"])
        #expect(result.info.droppedOptions.isEmpty)
    }

    @Test(arguments: ["o3-mini", "o1", "gpt-5", "gpt-5-mini-2025-08-07"])
    func reasoningModelsTakeMaxCompletionTokensAndNoSampling(model: String) async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion(meta: F.Meta(model: model)))])
        let options = ModelOptions(model: model, temperature: 0.7, topP: 0.9, maxTokens: 500)
        let result = try await makeBackend(server).query(system: "s", user: "u", options: options)
        let body = try sentBody(server)
        #expect(body["max_completion_tokens"]?.intValue == 500)
        #expect(body["max_tokens"] == nil)
        #expect(body["temperature"] == nil)
        #expect(body["top_p"] == nil)
        #expect(result.info.droppedOptions == ["temperature", "top_p"])
    }

    @Test(arguments: ["gpt-5-chat-latest", "gpt-4o"])
    func nonReasoningModelsKeepSampling(model: String) async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion(meta: F.Meta(model: model)))])
        let options = ModelOptions(model: model, temperature: 0.7, topP: 0.9, maxTokens: 500)
        let result = try await makeBackend(server).query(system: "s", user: "u", options: options)
        let body = try sentBody(server)
        #expect(body["max_tokens"]?.intValue == 500)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["temperature"]?.doubleValue == 0.7)
        #expect(body["top_p"]?.doubleValue == 0.9)
        #expect(result.info.droppedOptions.isEmpty)
    }

    @Test func thinkingBudgetIsRejectedForOpenAIBeforeAnyRequest() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion())])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "o3-mini", thinkingBudget: 2048))
        }
        guard case .invalidOptions(let problem)? = error else {
            Issue.record("expected invalidOptions, got \(String(describing: error))")
            return
        }
        #expect(problem == .thinkingBudgetOnOpenAI)
        #expect(problem.description.contains("reasoning_effort"))
        #expect(server.requests.isEmpty)
    }

    @Test func anthropicOnlyOptionsAreRejectedBeforeAnyRequest() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion())])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", options: ModelOptions(model: "gpt-4o", betas: ["x-2025"]))
        }
        guard case .invalidOptions? = error else { Issue.record("expected invalidOptions, got \(String(describing: error))"); return }
        #expect(server.requests.isEmpty)
    }

    @Test func openRouterSendsReasoningBudgetAndTitle() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion(meta: F.Meta(model: "anthropic/claude-3.5-sonnet")))])
        let result = try await makeBackend(server, provider: .openrouter, apiKey: "sk-or-test").query(
            system: nil, user: "u", options: ModelOptions(model: "anthropic/claude-3.5-sonnet", thinkingBudget: 2048))
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/chat/completions")
        #expect(request.header("authorization") == "Bearer sk-or-test")
        #expect(request.header("x-title") == "aide")
        #expect(try sentBody(server)["reasoning"] == ["max_tokens": 2048])
        #expect(result.info.provider == .openrouter)
        // OpenRouter's vendor/model spelling is priced from the table.
        #expect(result.costUSD != nil)
    }

    @Test func compatibleEndpointWithoutKeySendsNoAuthorization() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion(meta: F.Meta(model: "llama-3")))])
        let result = try await makeBackend(server, provider: .compatible, apiKey: nil).query(
            system: nil, user: "u", options: ModelOptions(model: "llama-3"))
        let request = try #require(server.requests.first)
        #expect(request.header("authorization") == nil)
        #expect(request.header("x-title") == nil)
        #expect(request.path == "/v1/chat/completions")
        #expect(result.output == .text("Hello! How can I assist you today?"))
    }

    // MARK: 3. Function calls

    @Test func functionSpecIsSentAsForcedToolAndArgumentsParsed() async throws {
        let arguments = #"{"is_bug": false, "summary": "All good; val 0.91."}"#
        let server = try LoopbackServer(script: [
            .json(200, F.toolCallCompletion(name: "submit_review", arguments: arguments))
        ])
        let result = try await makeBackend(server).query(
            system: "s", user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        let body = try sentBody(server)
        #expect(
            body["tools"]
                == [
                    [
                        "type": "function",
                        "function": [
                            "name": "submit_review", "description": "Submit a review of the run.",
                            "parameters": reviewSpec.parameters,
                        ],
                    ]
                ])
        #expect(body["tool_choice"] == ["type": "function", "function": ["name": "submit_review"]])
        #expect(
            result.output
                == .functionCall(name: "submit_review", arguments: ["is_bug": false, "summary": "All good; val 0.91."]))
        #expect(result.info.finishReason == .functionCall)
        #expect(result.info.stopReason == "tool_calls")
        #expect(result.usage == TokenUsage(input: 82, output: 17, cacheRead: 0, reasoning: 0))
    }

    @Test func noToolCallIsMissingFunctionCall() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion("I'd rather chat."))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        }
        guard case .missingFunctionCall(let expected, let found)? = error else {
            Issue.record("expected missingFunctionCall, got \(String(describing: error))")
            return
        }
        #expect(expected == "submit_review")
        #expect(found.contains("I'd rather chat."))
    }

    @Test func otherFunctionIsWrongFunctionCalled() async throws {
        let server = try LoopbackServer(script: [.json(200, F.toolCallCompletion(name: "delete_files", arguments: "{}"))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        }
        guard case .wrongFunctionCalled(let expected, let called)? = error else {
            Issue.record("expected wrongFunctionCalled, got \(String(describing: error))")
            return
        }
        #expect(expected == "submit_review")
        #expect(called == "delete_files")
    }

    @Test(arguments: [#"{"a": 1,"#, #"[1, 2]"#])
    func invalidArgumentsKeepTheRawText(raw: String) async throws {
        let server = try LoopbackServer(script: [.json(200, F.toolCallCompletion(name: "submit_review", arguments: raw))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        }
        guard case .invalidFunctionArguments(let function, _, let received)? = error else {
            Issue.record("expected invalidFunctionArguments, got \(String(describing: error))")
            return
        }
        #expect(function == "submit_review")
        #expect(received == raw)
        #expect(server.requests.count == 1)
    }

    @Test(arguments: [
        FunctionSpec(name: "f", description: "", parameters: ["type": "object", "properties": ["x": ["type": "strng"]]]),
        FunctionSpec(name: "f", description: "", parameters: ["type": "array"]),
        FunctionSpec(name: "has space", description: "", parameters: ["type": "object"]),
        FunctionSpec(name: "f", description: "", parameters: ["type": "object", "required": ["missing"]]),
    ])
    func invalidSpecFailsWithoutRequest(spec: FunctionSpec) async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion())])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", funcSpec: spec, options: ModelOptions(model: "gpt-4o"))
        }
        guard case .invalidFunctionSpec? = error else {
            Issue.record("expected invalidFunctionSpec, got \(String(describing: error))")
            return
        }
        #expect(server.requests.isEmpty)
    }

    // MARK: 4. Streaming

    @Test func streamingRequestAndResultEqualTheWholeOne() async throws {
        let usage = F.Usage(prompt: 40, completion: 12, cached: 8, reasoning: 0)
        let pieces = ["Hel", "lo, ", "wörld", " 🌍", "!"]
        let whole = try LoopbackServer(script: [.json(200, F.completion(pieces.joined(), usage: usage))])
        let streamed = try LoopbackServer(script: [.sse(F.textStream(pieces, usage: usage))])
        let options = ModelOptions(model: "gpt-4o", temperature: 0.3)
        let expected = try await makeBackend(whole).query(system: "s", user: "u", options: options)
        let recorder = DeltaRecorder()
        let result = try await makeBackend(streamed).query(
            system: "s", user: "u", funcSpec: nil, options: options, observer: recorder.observer)

        let request = try #require(streamed.requests.first)
        #expect(request.header("accept") == "text/event-stream")
        let body = try sentBody(streamed)
        #expect(body["stream"] == true)
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(body["temperature"]?.doubleValue == 0.3)
        // Apart from the stream keys, the body is the non-streaming one.
        var trimmed = body.objectValue ?? [:]
        trimmed["stream"] = nil
        trimmed["stream_options"] = nil
        let wholeBody = try sentBody(whole)
        #expect(JSONValue.object(trimmed) == wholeBody)

        #expect(result.output == expected.output)
        #expect(result.output == .text("Hello, wörld 🌍!"))
        #expect(result.usage == expected.usage)
        #expect(result.info.responseID == expected.info.responseID)
        #expect(result.info.model == expected.info.model)
        #expect(result.info.finishReason == expected.info.finishReason)
        #expect(result.info.stopReason == expected.info.stopReason)
        #expect(result.info.systemFingerprint == expected.info.systemFingerprint)
        #expect(result.info.created == expected.info.created)
        #expect(result.costUSD == expected.costUSD)
        #expect(result.info.streamed)
        #expect(!expected.info.streamed)
        #expect(recorder.deltas == pieces.map { .text($0) })
    }

    @Test func streamOptionWithoutObserverStreams() async throws {
        let server = try LoopbackServer(script: [.sse(F.textStream(["a", "b"]))])
        let result = try await makeBackend(server).query(
            system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        #expect(result.output == .text("ab"))
        #expect(result.info.streamed)
        #expect(try sentBody(server)["stream"] == true)
    }

    @Test func streamedToolCallsAreJoinedByIndex() async throws {
        // Two calls whose fragments interleave: joining by arrival position instead of index would
        // splice them into invalid JSON.
        let deltas: [F.ToolCallDelta] = [
            .start(index: 0, id: "call_a", name: "submit_review"),
            .arguments(index: 0, fragment: #"{"is_"#),
            .start(index: 1, id: "call_b", name: "other_tool"),
            .arguments(index: 1, fragment: #"{"x""#),
            .arguments(index: 0, fragment: #"bug": true, "sum"#),
            .arguments(index: 1, fragment: ": 1}"),
            .arguments(index: 0, fragment: #"mary": "loss \"nan\""}"#),
        ]
        let server = try LoopbackServer(script: [.sse(F.toolCallStream(deltas))])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"),
            observer: recorder.observer)
        #expect(result.output == .functionCall(name: "submit_review", arguments: ["is_bug": true, "summary": #"loss "nan""#]))
        #expect(result.info.finishReason == .functionCall)
        #expect(result.usage.input == 82)
        // Every non-empty fragment reaches the observer, in arrival order (the opening deltas carry "").
        let fragments: [StreamDelta] = [
            .functionArguments(#"{"is_"#), .functionArguments(#"{"x""#),
            .functionArguments(#"bug": true, "sum"#), .functionArguments(": 1}"),
            .functionArguments(#"mary": "loss \"nan\""}"#),
        ]
        #expect(recorder.deltas == fragments)
        #expect(try sentBody(server)["tool_choice"] == ["type": "function", "function": ["name": "submit_review"]])
    }

    @Test func streamedToolCallEqualsWholeToolCall() async throws {
        let arguments = #"{"is_bug": false, "summary": "ok"}"#
        let whole = try LoopbackServer(script: [.json(200, F.toolCallCompletion(name: "submit_review", arguments: arguments))])
        let streamed = try LoopbackServer(script: [
            .sse(F.toolCallStream(F.toolCallDeltas(name: "submit_review", fragments: [#"{"is_bug""#, #": false, "summary": "ok"}"#])))
        ])
        let options = ModelOptions(model: "gpt-4o", stream: true)
        let a = try await makeBackend(whole).query(system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        let b = try await makeBackend(streamed).query(system: nil, user: "u", funcSpec: reviewSpec, options: options)
        #expect(a.output == b.output)
        #expect(a.usage == b.usage)
        #expect(a.info.finishReason == b.info.finishReason)
        #expect(a.info.responseID == b.info.responseID)
    }

    @Test func errorEventMidStreamIsStreamError() async throws {
        var events = Array(F.textStream(["Partial "]).prefix(2))
        events.append(F.errorEvent("The server had an error while processing your request.", type: "server_error"))
        let server = try LoopbackServer(script: [.sse(events), .sse(F.textStream(["never"]))])
        let recorder = DeltaRecorder()
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o"), observer: recorder.observer)
        }
        guard case .streamError(let provider, let type, let message, let afterOutput)? = error else {
            Issue.record("expected streamError, got \(String(describing: error))")
            return
        }
        #expect(provider == .openai)
        #expect(type == "server_error")
        #expect(message == "The server had an error while processing your request.")
        #expect(afterOutput)
        // Output already reached the observer, so the error is not retried.
        #expect(server.requests.count == 1)
        #expect(recorder.text == "Partial ")
    }

    @Test func transientErrorEventBeforeOutputIsRetried() async throws {
        let first = [F.textStream([]).first!, F.errorEvent("Overloaded", type: "server_error")]
        let server = try LoopbackServer(script: [.sse(first), .sse(F.textStream(["fine"]))])
        let result = try await makeBackend(server).query(
            system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        #expect(result.output == .text("fine"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
    }

    @Test func hangUpBeforeContentIsRetried() async throws {
        let roleChunk = F.textStream([]).first!
        let broken = LoopbackResponse(
            headers: [("Content-Type", "text/event-stream")], parts: [.text(roleChunk), .hangUp], chunked: true)
        let server = try LoopbackServer(script: [broken, .sse(F.textStream(["Hello", "!"]))])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o"), observer: recorder.observer)
        #expect(result.output == .text("Hello!"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
        #expect(recorder.text == "Hello!", "the observer sees each delta once")
        let firstBody = try sentBody(server, 0)
        #expect(try sentBody(server, 1) == firstBody, "the retry sends the same body")
    }

    @Test func hangUpAfterContentIsStreamInterrupted() async throws {
        let events = F.textStream(["Partial ", "answer"])
        let broken = LoopbackResponse(
            headers: [("Content-Type", "text/event-stream")],
            parts: [.text(events[0]), .text(events[1]), .text(events[2]), .delay(0.05), .hangUp], chunked: true)
        let server = try LoopbackServer(script: [broken, .sse(F.textStream(["never"]))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o", stream: true),
                observer: { _ in })
        }
        guard case .streamInterrupted(let provider, let received, _, let beforeOutput)? = error else {
            Issue.record("expected streamInterrupted, got \(String(describing: error))")
            return
        }
        #expect(provider == .openai)
        #expect(!beforeOutput)
        #expect(received.contains("14 characters of text"))
        #expect(error?.description.contains("14 characters of text") == true)
        #expect(server.requests.count == 1)
    }

    @Test func streamClosedCleanlyWithoutDoneIsInterrupted() async throws {
        // A complete chunked body that simply stops before `[DONE]`.
        let events = F.textStream(["cut"])
        let server = try LoopbackServer(script: [.sse(Array(events.prefix(2)) + ["data: {\"id\""])])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o", stream: true),
                observer: { _ in })
        }
        guard case .streamInterrupted(_, let received, let cause, let beforeOutput)? = error else {
            Issue.record("expected streamInterrupted, got \(String(describing: error))")
            return
        }
        #expect(!beforeOutput)
        #expect(received.contains("3 characters of text"))
        #expect(cause.contains("mid-event"))
        #expect(server.requests.count == 1)
    }

    @Test func jsonAnswerToStreamingRequestStillWorks() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion("whole answer"))])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o"), observer: recorder.observer)
        #expect(try sentBody(server)["stream"] == true)
        #expect(result.output == .text("whole answer"))
        // The observer still sees the answer, as one delta.
        #expect(recorder.deltas == [.text("whole answer")])
        #expect(result.usage.input == 19)
        #expect(result.info.responseID == F.defaultID)
    }

    @Test func jsonToolCallAnswerToStreamingRequestReachesTheObserver() async throws {
        let arguments = #"{"is_bug": true, "summary": "NaN loss"}"#
        let server = try LoopbackServer(script: [.json(200, F.toolCallCompletion(name: "submit_review", arguments: arguments))])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"),
            observer: recorder.observer)
        #expect(result.output == .functionCall(name: "submit_review", arguments: ["is_bug": true, "summary": "NaN loss"]))
        #expect(recorder.deltas == [.functionArguments(arguments)])
    }

    @Test func apiErrorAnswerToStreamingRequestIsApiError() async throws {
        let server = try LoopbackServer(script: [.json(400, F.error("Invalid 'messages'.", param: "messages"))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        }
        guard case .api(let api)? = error else { Issue.record("expected api, got \(String(describing: error))"); return }
        #expect(api.status == 400)
        #expect(api.message == "Invalid 'messages'.")
        #expect(api.type == "invalid_request_error")
        #expect(server.requests.count == 1)
    }

    @Test func streamWithoutUsageIsMalformed() async throws {
        let server = try LoopbackServer(script: [.sse(F.textStream(["no usage"], usage: nil))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        }
        guard case .malformedResponse(let provider, let reason, _)? = error else {
            Issue.record("expected malformedResponse, got \(String(describing: error))")
            return
        }
        #expect(provider == .openai)
        #expect(reason.contains("include_usage"))
        #expect(server.requests.count == 1)
    }

    @Test(arguments: [false, true])
    func streamSplitAtAwkwardPointsStillFolds(crlf: Bool) async throws {
        let usage = F.Usage(prompt: 5, completion: 4)
        var text = F.textStream(["Grüß", " dich ", "🌍"], usage: usage).joined()
        if crlf { text = text.replacingOccurrences(of: "\n", with: "\r\n") }
        let bytes = Array(text.utf8)
        // Cut inside "data:", inside the JSON, inside the blank line (between CR and LF), and inside
        // multi-byte UTF-8 characters.
        var cuts: Set<Int> = [2, 7, 60]
        if let blank = text.utf8.firstIndex(of: 10) { cuts.insert(text.utf8.distance(from: text.utf8.startIndex, to: blank)) }
        if let ue = bytes.firstIndex(of: 0xC3) { cuts.insert(ue + 1) }  // inside "ü"
        if let globe = bytes.firstIndex(of: 0xF0) { cuts.formUnion([globe + 1, globe + 3]) }  // inside "🌍"
        for offset in stride(from: 97, to: bytes.count, by: 97) { cuts.insert(offset) }
        var parts: [LoopbackResponse.Part] = []
        var start = 0
        for cut in cuts.sorted() where cut > start && cut < bytes.count {
            parts.append(.bytes(Data(bytes[start..<cut])))
            parts.append(.delay(0.005))
            start = cut
        }
        parts.append(.bytes(Data(bytes[start...])))
        let server = try LoopbackServer(script: [
            LoopbackResponse(headers: [("Content-Type", "text/event-stream")], parts: parts, chunked: true)
        ])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o"), observer: recorder.observer)
        #expect(result.output == .text("Grüß dich 🌍"))
        #expect(recorder.deltas == [.text("Grüß"), .text(" dich "), .text("🌍")])
        #expect(result.usage == TokenUsage(input: 5, output: 4, cacheRead: 0, reasoning: 0))
        #expect(result.info.finishReason == .stop)
    }

    @Test func keepAliveCommentsAndReasoningDeltasAreHandled() async throws {
        // Compatible servers (and OpenRouter) send ": keep-alive" comments and reasoning deltas.
        let meta = F.Meta(model: "deepseek-r1")
        let events = [
            ": OPENROUTER PROCESSING\n\n",
            F.event(F.chunk(meta: meta, delta: #"{"role":"assistant","content":"","reasoning":"Think"}"#)),
            F.event(F.chunk(meta: meta, delta: #"{"reasoning":"ing."}"#)),
            F.event(F.chunk(meta: meta, delta: #"{"content":"Answer"}"#)),
            F.event(F.chunk(meta: meta, delta: "{}", finishReason: #""stop""#)),
            F.event(F.usageChunk(meta: meta, usage: F.Usage(prompt: 3, completion: 9, reasoning: 5))),
            F.done,
        ]
        let server = try LoopbackServer(script: [.sse(events)])
        let recorder = DeltaRecorder()
        let result = try await makeBackend(server, provider: .compatible, apiKey: nil).query(
            system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "deepseek-r1"), observer: recorder.observer)
        #expect(result.output == .text("Answer"))
        #expect(result.info.thinking == "Thinking.")
        #expect(result.usage.reasoning == 5)
        #expect(recorder.deltas == [.thinking("Think"), .thinking("ing."), .text("Answer")])
    }
}

/// Behaviour added after review: refusals, stop sequences on reasoning models, quota errors.
struct OpenAIRefusalAndQuotaTests {
    private static let refusal =
        #"{"id":"chatcmpl-r","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06","#
        + #""choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"#
        + #""logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}"#

    @Test func aRefusalIsTheAnswerAndMapsToContentFilter() async throws {
        let server = try LoopbackServer(script: [.json(200, Self.refusal)])
        let result = try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o"))
        #expect(result.output == .text("I can't help with that."))
        #expect(result.info.finishReason == .contentFilter)
        #expect(result.info.stopReason == "stop", "the provider's own reason is kept raw")
    }

    @Test func aStreamedRefusalFoldsTheSame() async throws {
        let chunk = #"{"id":"chatcmpl-r","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","#
        let server = try LoopbackServer(script: [
            .sse([
                F.event(chunk + #""choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]}"#),
                F.event(chunk + #""choices":[{"index":0,"delta":{"refusal":"I can't "},"finish_reason":null}]}"#),
                F.event(chunk + #""choices":[{"index":0,"delta":{"refusal":"help with that."},"finish_reason":"stop"}]}"#),
                F.event(chunk + #""choices":[],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}"#),
                "data: [DONE]\n\n",
            ])
        ])
        let result = try await makeBackend(server).query(
            system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        #expect(result.output == .text("I can't help with that."))
        #expect(result.info.finishReason == .contentFilter)
    }

    @Test func aRefusalInsteadOfAFunctionCallIsReportedAsSuch() async throws {
        let server = try LoopbackServer(script: [.json(200, Self.refusal)])
        await #expect {
            _ = try await makeBackend(server).query(
                system: nil, user: "u", funcSpec: reviewSpec, options: ModelOptions(model: "gpt-4o"))
        } throws: { error in
            guard case .missingFunctionCall(_, let found) = error as? LLMError else { return false }
            return found.contains("refusal") && found.contains("I can't help with that.")
        }
    }

    @Test func reasoningModelsGetNoStopSequences() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion()), .json(200, F.completion())])
        let backend = makeBackend(server)
        let reasoning = try await backend.query(
            system: nil, user: "u", options: ModelOptions(model: "o3-mini", stop: ["###"]))
        #expect(try sentBody(server, 0)["stop"] == nil)
        #expect(reasoning.info.droppedOptions == ["stop"])
        let plain = try await backend.query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stop: ["###"]))
        #expect(try sentBody(server, 1)["stop"] == ["###"])
        #expect(plain.info.droppedOptions.isEmpty)
    }

    @Test func anExhaustedQuotaIsNotRetried() async throws {
        let quota = F.error("You exceeded your current quota.", type: "insufficient_quota", code: "insufficient_quota")
        let server = try LoopbackServer(script: [.json(429, quota), .json(200, F.completion())])
        await #expect {
            _ = try await makeBackend(server).query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o"))
        } throws: { error in
            guard case .api(let api) = error as? LLMError else { return false }
            return api.status == 429 && api.type == "insufficient_quota"
        }
        #expect(server.requests.count == 1)
    }

    @Test func aSlowWholeAnswerIsBoundedByTheTotalTimeoutNotTheIdleOne() async throws {
        // The server is silent for 1.5 s before answering: fine for a whole answer with idle 1 s.
        let server = try LoopbackServer(script: [
            LoopbackResponse(headers: [("content-type", "application/json")], parts: [.delay(1.5), .text(F.completion())])
        ])
        let backend = OpenAIBackend(
            endpoint: ProviderEndpoint(provider: .openai, baseURL: server.baseURL + "/v1", apiKey: "sk-test"),
            http: HTTPClient(),
            settings: BackendSettings(timeouts: HTTPTimeouts(total: 30, idle: 1), retry: .none))
        let result = try await backend.query(system: nil, user: "u", options: ModelOptions(model: "gpt-4o"))
        #expect(result.output == .text("Hello! How can I assist you today?"))
    }
}
