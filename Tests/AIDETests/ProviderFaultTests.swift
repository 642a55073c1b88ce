@testable import AIDE
import AIDETesting
import Foundation
import Testing

// Provider storms and stalls through the real HTTP stack (libcurl) against loopback servers, for both
// wire formats, streamed and whole. Retries wait on a virtual clock, so the default policy (12 attempts
// within 20 minutes) is exercised as shipped without waiting for it.

private typealias A = AnthropicFixtures
private typealias O = OpenAIFixtures

/// The two wire formats: a backend at a server, the answer it should give, and a good response.
enum WireFormat: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case anthropic, openai

    var testDescription: String { rawValue }

    func backend(_ server: LoopbackServer, clock: VirtualClock, timeouts: HTTPTimeouts = HTTPTimeouts(),
                 retry: RetryPolicy = RetryPolicy()) -> any Backend {
        let settings = BackendSettings(timeouts: timeouts, retry: retry, clock: clock.retryClock)
        switch self {
        case .anthropic:
            return AnthropicBackend(
                endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "sk-ant-test"),
                http: HTTPClient(), settings: settings)
        case .openai:
            return OpenAIBackend(
                endpoint: ProviderEndpoint(provider: .openai, baseURL: server.baseURL + "/v1", apiKey: "sk-test"),
                http: HTTPClient(), settings: settings)
        }
    }

    var model: String { self == .anthropic ? "claude-sonnet-4-5" : "gpt-4o" }

    /// A good answer saying `text`, as a stream or a whole body.
    func answer(_ text: String, streamed: Bool) -> LoopbackResponse {
        switch (self, streamed) {
        case (.anthropic, false): return A.messageResponse(A.textMessage(text: text))
        case (.anthropic, true): return A.sseResponse(A.textStream(text: text))
        case (.openai, false): return .json(200, O.completion(text))
        case (.openai, true): return .sse(O.textStream([text]))
        }
    }

    /// The first events of an answer that will never finish: some text arrived, no final event.
    func partialStream() -> [String] {
        switch self {
        case .anthropic: return Array(A.textStream(text: "half an answ").prefix(3))
        case .openai: return Array(O.textStream(["half an answ", "er"]).prefix(2))
        }
    }

    func overloaded(_ status: Int) -> LoopbackResponse {
        switch self {
        case .anthropic: return A.errorResponse(status: status)
        case .openai: return .json(status, O.error("The server is overloaded", type: "server_error"))
        }
    }
}

private let formats = WireFormat.allCases
private let streamedOrNot = [false, true]

@Suite struct ProviderFaultTests {
    private func ask(_ format: WireFormat, streamed: Bool) -> ModelOptions {
        ModelOptions(model: format.model, stream: streamed)
    }

    @Test(arguments: formats, streamedOrNot)
    func anOverloadOfTenAnswersIsRiddenOutByTheDefaults(format: WireFormat, streamed: Bool) async throws {
        let script = Array(repeating: format.overloaded(529), count: 10) + [format.answer("at last", streamed: streamed)]
        let server = try LoopbackServer(script: script)
        let clock = VirtualClock()
        let result = try await format.backend(server, clock: clock).query(
            system: nil, user: "u", options: ask(format, streamed: streamed))
        #expect(result.output == .text("at last"))
        #expect(result.info.attempts == 11)
        #expect(result.info.failures.count == 10)
        #expect(result.info.failures.allSatisfy { $0.contains("529") })
        #expect(clock.now > 60, "the default backoff waited (virtually) between attempts")
        #expect(clock.now < 1200)
    }

    @Test(arguments: [501, 502, 505, 520, 521, 522, 523, 524])
    func cdnAndServerStatusesAreRetried(status: Int) async throws {
        for format in formats {
            let server = try LoopbackServer(script: [.cdnError(status), format.answer("fine", streamed: false)])
            let result = try await format.backend(server, clock: VirtualClock()).query(
                system: nil, user: "u", options: ask(format, streamed: false))
            #expect(result.output == .text("fine"))
            #expect(result.info.attempts == 2)
            #expect(result.info.failures.first?.contains("\(status)") == true)
        }
    }

    @Test(arguments: formats, streamedOrNot)
    func anHTMLPageOrAnEmptyBodyWithStatus200IsRetried(format: WireFormat, streamed: Bool) async throws {
        let server = try LoopbackServer(script: [.htmlPage, .empty200, format.answer("real", streamed: streamed)])
        let result = try await format.backend(server, clock: VirtualClock()).query(
            system: nil, user: "u", options: ask(format, streamed: streamed))
        #expect(result.output == .text("real"))
        #expect(result.info.attempts == 3)
        #expect(server.requests.count == 3)
    }

    @Test(arguments: formats)
    func malformedAnswersAreAnErrorAfterThreeAttempts(format: WireFormat) async throws {
        let server = try LoopbackServer { _ in .htmlPage }
        let error = await #expect(throws: LLMError.self) {
            try await format.backend(server, clock: VirtualClock()).query(
                system: nil, user: "u", options: ask(format, streamed: false))
        }
        guard case .gaveUp(let attempts, _, .malformedResponse, let failures)? = error else {
            Issue.record("expected gaveUp(malformed), got \(String(describing: error))")
            return
        }
        #expect(attempts == 3)
        #expect(failures.count == 3)
        #expect(server.requests.count == 3)
    }

    @Test(arguments: formats, streamedOrNot)
    func aConnectionThatNeverSendsAByteTimesOutAndIsRetried(format: WireFormat, streamed: Bool) async throws {
        let server = try LoopbackServer(script: [.neverAnswers, format.answer("awake", streamed: streamed)])
        // Whole answers are bounded by the total timeout, streams by the idle one: 5 s, so that the
        // answer to the retry, on a loaded machine, never reaches it too.
        let timeouts = streamed ? HTTPTimeouts(idle: 5) : HTTPTimeouts(total: 5)
        let result = try await format.backend(server, clock: VirtualClock(), timeouts: timeouts).query(
            system: nil, user: "u", options: ask(format, streamed: streamed))
        #expect(result.output == .text("awake"))
        #expect(result.info.attempts == 2)
        #expect(result.info.failures.first?.contains("timedOut") == true)
    }

    @Test(arguments: formats)
    func aStreamStoppingMidAnswerIsCaughtByTheIdleTimeoutAndAskedAgain(format: WireFormat) async throws {
        let server = try LoopbackServer(script: [
            .streamStopping(after: format.partialStream()), format.answer("whole answer", streamed: true),
        ])
        let result = try await format.backend(server, clock: VirtualClock(), timeouts: HTTPTimeouts(idle: 5)).query(
            system: nil, user: "u", options: ask(format, streamed: true))
        #expect(result.output == .text("whole answer"))
        #expect(result.info.attempts == 2)
        #expect(result.info.failures.first?.contains("broke off") == true)
    }

    @Test func retryAfterIsHonouredOnTheVirtualClock() async throws {
        let server = try LoopbackServer(script: [
            A.errorResponse(status: 429, headers: [("retry-after", "30")]), A.messageResponse(A.textMessage(text: "ok")),
        ])
        let clock = VirtualClock()
        let result = try await WireFormat.anthropic.backend(server, clock: clock).query(
            system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        #expect(result.info.attempts == 2)
        #expect(clock.now == 30)
    }

    @Test func aCutOffAnswerIsAskedAgainWithMoreRoom() async throws {
        let server = try LoopbackServer(script: [
            A.messageResponse(A.textMessage(text: "```python\nprint(", outputTokens: 4096, stopReason: "max_tokens")),
            A.messageResponse(A.textMessage(text: "```python\nprint(1)\n```", outputTokens: 5000)),
        ])
        let backend = CutOffRetry(WireFormat.anthropic.backend(server, clock: VirtualClock()))
        let result = try await backend.query(system: nil, user: "u", options: ModelOptions(model: "claude-sonnet-4-5"))
        #expect(result.output == .text("```python\nprint(1)\n```"))
        #expect(result.info.cutOffRetries == 1)
        #expect(result.usage.output == 9096, "both answers are paid for")
        #expect(server.requests.map { $0.bodyJSON?["max_tokens"] as? Int } == [4096, 8192])
    }

    @Test func geminiModelsGoToGooglesOpenAICompatibleEndpoint() throws {
        let router = ModelRouter(http: HTTPClient(), environment: ["GEMINI_API_KEY": "g-key"])
        #expect(try router.route("gemini-2.5-pro").provider == .gemini)
        let endpoint = try router.endpoint(for: .gemini)
        #expect(endpoint.baseURL == "https://generativelanguage.googleapis.com/v1beta/openai")
        #expect(endpoint.apiKey == "g-key")
        let overridden = ModelRouter(
            http: HTTPClient(), environment: ["GEMINI_API_KEY": "g", "GEMINI_BASE_URL": "http://127.0.0.1:9/v1"])
        #expect(try overridden.endpoint(for: .gemini).baseURL == "http://127.0.0.1:9/v1")
        #expect(throws: LLMError.self) { try ModelRouter(http: HTTPClient(), environment: [:]).endpoint(for: .gemini) }
    }

    @Test func geminiQueriesReachTheOverriddenBaseURLWithTheKey() async throws {
        let server = try LoopbackServer(script: [.json(200, O.completion("from gemini"))])
        let router = ModelRouter(
            http: HTTPClient(), environment: ["GEMINI_API_KEY": "g-key", "GEMINI_BASE_URL": server.baseURL + "/v1beta/openai"])
        let result = try await router.query(system: nil, user: "u", options: ModelOptions(model: "gemini-2.5-flash"))
        #expect(result.output == .text("from gemini"))
        #expect(server.requests.first?.path == "/v1beta/openai/chat/completions")
        #expect(server.requests.first?.header("authorization") == "Bearer g-key")
    }
}
