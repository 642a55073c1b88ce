@testable import AIDE
import AIDETesting
import Foundation
import Glibc
import Testing

// Retries, backoff and failure classification through a real libcurl exchange with a LoopbackServer,
// then ModelRouter's routing, keys and base-URL overrides (with an injected environment only).

private typealias F = OpenAIFixtures

private let testPolicy = RetryPolicy(maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05, malformedAttempts: 1)

private func makeBackend(
    _ baseURL: String, retry: RetryPolicy = testPolicy, timeouts: HTTPTimeouts = HTTPTimeouts(), clock: RetryClock = .system
) -> OpenAIBackend {
    OpenAIBackend(
        endpoint: ProviderEndpoint(provider: .openai, baseURL: baseURL + "/v1", apiKey: "sk-test"),
        http: HTTPClient(), settings: BackendSettings(timeouts: timeouts, retry: retry, clock: clock))
}

/// Waits between attempts pass on `clock` (a `VirtualClock` in the tests of how long a retry waits).
private func makeBackend(
    _ server: LoopbackServer, retry: RetryPolicy = testPolicy, timeouts: HTTPTimeouts = HTTPTimeouts(),
    clock: RetryClock = .system
) -> OpenAIBackend {
    makeBackend(server.baseURL, retry: retry, timeouts: timeouts, clock: clock)
}

private let ask = ModelOptions(model: "gpt-4o")

/// A TCP port on 127.0.0.1 that refuses connections: bound (so nobody else gets it) but not listening.
private final class RefusingPort {
    let fd: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        fd = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        try #require(descriptor >= 0 && bound == 0 && named == 0 && port > 0)
    }

    deinit { close(fd) }
}

private let anthropicMessage = #"""
    {"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
    "content":[{"type":"text","text":"Hi from Claude"}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":12,"output_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}
    """#

@Suite struct RetryAndRoutingTests {
    // MARK: 5. Retries

    @Test(arguments: [408, 409, 429, 500, 502, 503, 504, 529])
    func transientStatusesAreRetried(status: Int) async throws {
        let server = try LoopbackServer(script: [
            .json(status, F.error("Transient trouble \(status)", type: "server_error")),
            .json(200, F.completion("recovered")),
        ])
        let result = try await makeBackend(server).query(system: nil, user: "u", options: ask)
        #expect(result.output == .text("recovered"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
        let first = try JSONValue.parse(server.requests[0].body)
        #expect(try JSONValue.parse(server.requests[1].body) == first, "the retry sends the same body")
        #expect(server.requests[1].header("authorization") == "Bearer sk-test")
    }

    static let permanent: [(Int, String, String)] = [
        (400, "invalid_request_error", "Invalid value for 'temperature': must be at most 2."),
        (401, "invalid_request_error", "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys."),
        (403, "permission_error", "You are not allowed to sample from this model"),
        (404, "invalid_request_error", "The model `gpt-7` does not exist or you do not have access to it."),
    ]

    @Test(arguments: permanent)
    func clientErrorsFailAtOnce(status: Int, type: String, message: String) async throws {
        let server = try LoopbackServer(script: [
            .json(status, F.error(message, type: type, code: "some_code"), headers: [("x-request-id", "req_abc123")]),
            .json(200, F.completion("never")),
        ])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ask)
        }
        guard case .api(let api)? = error else { Issue.record("expected api, got \(String(describing: error))"); return }
        #expect(api.provider == .openai)
        #expect(api.status == status)
        #expect(api.type == type)
        #expect(api.message == message)
        #expect(api.requestID == "req_abc123")
        #expect(error?.description.contains(message) == true)
        #expect(server.requests.count == 1)
    }

    @Test func nonJSONErrorBodyIsQuoted() async throws {
        let server = try LoopbackServer(script: [
            LoopbackResponse(status: 403, headers: [("Content-Type", "text/html")], parts: [.text("<html>Forbidden by proxy</html>")])
        ])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ask)
        }
        guard case .api(let api)? = error else { Issue.record("expected api, got \(String(describing: error))"); return }
        #expect(api.status == 403)
        #expect(api.type == nil)
        #expect(api.message.contains("Forbidden by proxy"))
    }

    @Test func retryAfterMillisecondsIsHonoured() async throws {
        let server = try LoopbackServer(script: [
            .json(429, F.error("Rate limit reached", type: "requests", code: "rate_limit_exceeded"),
                  headers: [("retry-after-ms", "400"), ("retry-after", "0")]),
            .json(200, F.completion("ok")),
        ])
        let clock = VirtualClock()
        let result = try await makeBackend(server, clock: clock.retryClock).query(system: nil, user: "u", options: ask)
        #expect(result.info.attempts == 2)
        // The policy alone would wait at most 0.05 s (± jitter); the retry waited what the server asked.
        #expect(clock.now >= 0.4 && clock.now < 1)
    }

    @Test func retryAfterSecondsIsHonoured() async throws {
        let server = try LoopbackServer(script: [
            .json(503, F.error("The engine is currently overloaded", type: "server_error"), headers: [("Retry-After", "1")]),
            .json(200, F.completion("ok")),
        ])
        let clock = VirtualClock()
        let result = try await makeBackend(server, clock: clock.retryClock).query(system: nil, user: "u", options: ask)
        #expect(result.info.attempts == 2)
        #expect(clock.now >= 1.0 && clock.now < 2)
    }

    @Test func retryAfterIsReportedOnTheError() async throws {
        let server = try LoopbackServer(script: [
            .json(429, F.error("Rate limit reached"), headers: [("retry-after-ms", "1500")])
        ])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server, retry: .none).query(system: nil, user: "u", options: ask)
        }
        guard case .api(let api)? = error else { Issue.record("expected api, got \(String(describing: error))"); return }
        #expect(api.retryAfter == 1.5)
        #expect(server.requests.count == 1)
    }

    @Test func alwaysFailingGivesUpAfterMaxAttempts() async throws {
        let server = try LoopbackServer { _ in .json(500, F.error("The server had an error", type: "server_error")) }
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server, retry: RetryPolicy(maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05))
                .query(system: nil, user: "u", options: ask)
        }
        guard case .gaveUp(let attempts, _, let last, _)? = error else {
            Issue.record("expected gaveUp, got \(String(describing: error))")
            return
        }
        #expect(attempts == 3)
        guard case .api(let api) = last else { Issue.record("expected api inside gaveUp, got \(last)"); return }
        #expect(api.status == 500)
        #expect(api.message == "The server had an error")
        #expect(server.requests.count == 3)
        #expect(error?.description.contains("3 attempts") == true)
    }

    @Test func maxElapsedStopsBeforeALongRetryAfter() async throws {
        let server = try LoopbackServer { _ in
            .json(429, F.error("Rate limit reached", type: "requests"), headers: [("retry-after", "60")])
        }
        let clock = VirtualClock()
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(
                server, retry: RetryPolicy(maxAttempts: 5, maxElapsed: 10, initialDelay: 0.01, maxDelay: 0.05), clock: clock.retryClock
            ).query(system: nil, user: "u", options: ask)
        }
        #expect(clock.now < 1, "must not sleep the 60 s the server asked for")
        #expect(server.requests.count == 1)
        // One attempt only: the provider's own error, with the wait it asked for.
        guard case .api(let api)? = error else { Issue.record("expected api, got \(String(describing: error))"); return }
        #expect(api.status == 429)
        #expect(api.retryAfter == 60)
    }

    @Test func maxElapsedStopsAfterSomeRetries() async throws {
        let server = try LoopbackServer(script: [
            .json(500, F.error("boom", type: "server_error")),
            .json(429, F.error("Rate limit reached", type: "requests"), headers: [("retry-after", "120")]),
            .json(200, F.completion("too late")),
        ])
        let clock = VirtualClock()
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(
                server, retry: RetryPolicy(maxAttempts: 5, maxElapsed: 40, initialDelay: 0.01, maxDelay: 0.05), clock: clock.retryClock
            ).query(system: nil, user: "u", options: ask)
        }
        #expect(clock.now < 1, "must not sleep the 120 s the server asked for")
        #expect(server.requests.count == 2)
        guard case .gaveUp(let attempts, let seconds, let last, _)? = error else {
            Issue.record("expected gaveUp, got \(String(describing: error))")
            return
        }
        #expect(attempts == 2)
        #expect(seconds < 100, "it gave up rather than sleep the 120 s retry-after")
        guard case .api(let api) = last else { Issue.record("expected api inside gaveUp, got \(last)"); return }
        #expect(api.status == 429)
    }

    @Test func connectionRefusedIsRetriedThenGivesUp() async throws {
        let refusing = try RefusingPort()
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend("http://127.0.0.1:\(refusing.port)").query(system: nil, user: "u", options: ask)
        }
        guard case .gaveUp(let attempts, _, let last, _)? = error else {
            Issue.record("expected gaveUp, got \(String(describing: error))")
            return
        }
        #expect(attempts == 3)
        guard case .transport(let curl) = last else { Issue.record("expected transport, got \(last)"); return }
        #expect(curl.kind == .couldNotConnect)
        #expect(curl.isTransient)
        withExtendedLifetime(refusing) {}
    }

    @Test func connectionRefusedWhileStreamingIsRetriedToo() async throws {
        let refusing = try RefusingPort()
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend("http://127.0.0.1:\(refusing.port)").query(
                system: nil, user: "u", options: ModelOptions(model: "gpt-4o", stream: true))
        }
        guard case .gaveUp(3, _, .transport(let curl), _)? = error else {
            Issue.record("expected gaveUp(3, transport), got \(String(describing: error))")
            return
        }
        #expect(curl.kind == .couldNotConnect)
        withExtendedLifetime(refusing) {}
    }

    @Test func emptyReplyIsRetried() async throws {
        // The server reads the request and closes without a word: curl's "empty reply".
        let server = try LoopbackServer(script: [.stall(0), .json(200, F.completion("second time"))])
        let result = try await makeBackend(server).query(system: nil, user: "u", options: ask)
        #expect(result.output == .text("second time"))
        #expect(result.info.attempts == 2)
        #expect(server.requests.count == 2)
    }

    @Test func idleTimeoutOfAStreamIsRetried() async throws {
        // Idle applies to streams; a whole answer is silent until done and only the total bounds it.
        // The stall would end (in an empty reply, also retried) after 10 minutes.
        let server = try LoopbackServer(script: [.stall(600), .sse(F.textStream(["awake"]))])
        var streamed = ask
        streamed.stream = true
        let result = try await makeBackend(server, timeouts: HTTPTimeouts(idle: 1)).query(
            system: nil, user: "u", options: streamed)
        #expect(result.output == .text("awake"))
        #expect(result.info.attempts == 2)
        #expect(await server.waitForEndings(2) == [.clientGone, .completed], "the idle timeout, not the stall's end, ended the first attempt")
    }

    @Test func idleTimeoutAfterStreamedOutputIsInterrupted() async throws {
        let events = F.textStream(["Hello", " world"])
        let stalled = LoopbackResponse(
            headers: [("Content-Type", "text/event-stream")],
            parts: [.text(events[0]), .text(events[1]), .delay(600)] + events.dropFirst(2).map { .text($0) }, chunked: true)
        let server = try LoopbackServer(script: [stalled, .sse(F.textStream(["never"]))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server, timeouts: HTTPTimeouts(idle: 1)).query(
                system: nil, user: "u", funcSpec: nil, options: ModelOptions(model: "gpt-4o", stream: true),
                observer: { _ in })
        }
        #expect(await server.waitForEndings(1) == [.clientGone], "the idle timeout, not the 10-minute pause's end, ended it")
        guard case .streamInterrupted(_, let received, let cause, let beforeOutput)? = error else {
            Issue.record("expected streamInterrupted, got \(String(describing: error))")
            return
        }
        #expect(!beforeOutput)
        #expect(received.contains("5 characters of text"))
        #expect(cause.contains("idle"))
        #expect(server.requests.count == 1)
    }

    @Test func retryAfterParsing() {
        func head(_ headers: [(String, String)]) -> HTTPHead {
            HTTPHead(status: 429, headers: headers.map { (name: $0.0, value: $0.1) })
        }
        #expect(ProviderExchange.retryAfter(head([("retry-after-ms", "250")])) == 0.25)
        #expect(ProviderExchange.retryAfter(head([("Retry-After", "7")])) == 7)
        #expect(ProviderExchange.retryAfter(head([("retry-after", " 2.5 ")])) == 2.5)
        #expect(ProviderExchange.retryAfter(head([("retry-after-ms", "100"), ("retry-after", "9")])) == 0.1)
        #expect(ProviderExchange.retryAfter(head([("retry-after-ms", "soon"), ("retry-after", "9")])) == 9)
        #expect(ProviderExchange.retryAfter(head([("retry-after", "-3")])) == nil)
        #expect(ProviderExchange.retryAfter(head([("retry-after", "whenever")])) == nil)
        #expect(ProviderExchange.retryAfter(head([])) == nil)

        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let future = formatter.string(from: Date().addingTimeInterval(30))
        let wait = ProviderExchange.retryAfter(head([("retry-after", future)]))
        #expect(wait.map { (27...31).contains($0) } == true, "\(future) → \(String(describing: wait))")
        #expect(ProviderExchange.retryAfter(head([("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])) == 0)
    }

    @Test func latencyIncludesBackoffAndLastAttemptDoesNot() async throws {
        let server = try LoopbackServer(script: [
            .json(500, F.error("boom", type: "server_error")),
            .json(502, F.error("bad gateway", type: "server_error")),
            LoopbackResponse(headers: [("Content-Type", "application/json")], parts: [.delay(0.1), .text(F.completion("ok"))]),
        ])
        let policy = RetryPolicy(maxAttempts: 3, initialDelay: 0.15, maxDelay: 0.25, jitter: 0)
        let result = try await makeBackend(server, retry: policy).query(system: nil, user: "u", options: ask)
        #expect(result.info.attempts == 3)
        #expect(result.lastAttemptLatency >= 0.1)
        #expect(result.latency >= result.lastAttemptLatency)
        // Backoffs of 0.15 s then 0.25 s (0.3 capped by maxDelay) lie between the attempts.
        #expect(result.latency - result.lastAttemptLatency >= 0.4)
        #expect(result.lastAttemptLatency < result.latency)
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: 1, maxDelay: 5, jitter: 0)
        #expect((1...5).map(policy.backoff(after:)) == [1, 2, 4, 5, 5])
        let jittered = RetryPolicy(initialDelay: 2, maxDelay: 60, jitter: 0.5)
        for _ in 0..<100 {
            #expect((1.0...3.0).contains(jittered.backoff(after: 1)))
        }
        #expect(RetryPolicy.none.maxAttempts == 1)
    }

    @Test func successBodyThatIsNotJSONIsMalformed() async throws {
        let server = try LoopbackServer(script: [
            LoopbackResponse(headers: [("Content-Type", "text/html")], parts: [.text("<html><body>Gateway says hi</body></html>")])
        ])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ask)
        }
        guard case .malformedResponse(let provider, _, let excerpt)? = error else {
            Issue.record("expected malformedResponse, got \(String(describing: error))")
            return
        }
        #expect(provider == .openai)
        #expect(excerpt.contains("<html><body>Gateway says hi"))
        #expect(server.requests.count == 1)
    }

    @Test func successJSONWithoutChoicesIsMalformed() async throws {
        let body = #"{"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}"#
        let server = try LoopbackServer(script: [.json(200, body)])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ask)
        }
        guard case .malformedResponse(_, let reason, let excerpt)? = error else {
            Issue.record("expected malformedResponse, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("choices"))
        #expect(excerpt.contains("chatcmpl-x"))
        #expect(server.requests.count == 1)
    }

    @Test func successJSONWithoutUsageIsMalformed() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion("x", usage: nil))])
        let error = await #expect(throws: LLMError.self) {
            try await makeBackend(server).query(system: nil, user: "u", options: ask)
        }
        guard case .malformedResponse(_, let reason, _)? = error else {
            Issue.record("expected malformedResponse, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("usage"))
    }

    // MARK: 6. Routing

    static let routes: [(String, Provider, String)] = [
        ("claude-sonnet-4-5-20250929", .anthropic, "claude-sonnet-4-5-20250929"),
        ("claude-3-5-haiku-latest", .anthropic, "claude-3-5-haiku-latest"),
        ("gpt-4o", .openai, "gpt-4o"),
        ("gpt-5-mini", .openai, "gpt-5-mini"),
        ("o1", .openai, "o1"),
        ("o3-mini", .openai, "o3-mini"),
        ("o4-mini", .openai, "o4-mini"),
        ("anthropic/x", .anthropic, "x"),
        ("openai/x", .openai, "x"),
        ("openrouter/meta-llama/llama-3", .openrouter, "meta-llama/llama-3"),
        ("compatible/x", .compatible, "x"),
    ]

    @Test(arguments: routes)
    func routesByName(model: String, provider: Provider, name: String) throws {
        for base in [nil, "http://127.0.0.1:1/v1"] {
            let router = ModelRouter(http: HTTPClient(), environment: [:], compatibleBaseURL: base)
            let route = try router.route(model)
            #expect(route.provider == provider)
            #expect(route.model == name)
        }
    }

    @Test(arguments: ["omni-x", "llama-3", "o", "meta-llama/llama-3", "mistral-large", "deepseek/deepseek-r1"])
    func otherNamesGoToOpenRouterOrTheCompatibleServer(model: String) throws {
        let plain = ModelRouter(http: HTTPClient(), environment: [:])
        #expect(try plain.route(model) == (.openrouter, model))
        let local = ModelRouter(http: HTTPClient(), environment: [:], compatibleBaseURL: "http://127.0.0.1:8080/v1")
        #expect(try local.route(model) == (.compatible, model))
        let viaEnvironment = ModelRouter(
            http: HTTPClient(), environment: ["AIDE_COMPATIBLE_BASE_URL": "http://127.0.0.1:8080/v1"])
        #expect(try viaEnvironment.route(model) == (.compatible, model))
    }

    @Test func providerPrefixWithoutModelIsInvalid() {
        let router = ModelRouter(http: HTTPClient(), environment: [:])
        #expect(throws: LLMError.self) { try router.route("openai/") }
    }

    @Test func compatibleWithoutBaseURLIsMissingBaseURL() async throws {
        let router = ModelRouter(http: HTTPClient(), environment: ["AIDE_COMPATIBLE_BASE_URL": ""])
        let error = await #expect(throws: LLMError.self) {
            try await router.query(system: nil, user: "u", options: ModelOptions(model: "compatible/x"))
        }
        #expect(error?.description == "compatible/… models need a server: set AIDE_COMPATIBLE_BASE_URL")
    }

    static let keys: [(String, String, String)] = [
        ("claude-sonnet-4-5", "anthropic", "ANTHROPIC_API_KEY"),
        ("gpt-4o", "openai", "OPENAI_API_KEY"),
        ("o3-mini", "openai", "OPENAI_API_KEY"),
        ("llama-3", "openrouter", "OPENROUTER_API_KEY"),
        ("openrouter/meta-llama/llama-3", "openrouter", "OPENROUTER_API_KEY"),
    ]

    @Test(arguments: keys)
    func missingKeysNameTheirVariable(model: String, provider: String, variable: String) async throws {
        // Another provider's key, and an empty one, do not count.
        let others = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"].filter { $0 != variable }
        var environment = Dictionary(uniqueKeysWithValues: others.map { ($0, "sk-other") })
        environment[variable] = ""
        let router = ModelRouter(http: HTTPClient(), environment: environment)
        let error = await #expect(throws: LLMError.self) {
            try await router.query(system: nil, user: "u", options: ModelOptions(model: model))
        }
        guard case .missingAPIKey(let named, let missing)? = error else {
            Issue.record("expected missingAPIKey, got \(String(describing: error))")
            return
        }
        #expect(named.rawValue == provider)
        #expect(missing == variable)
        #expect(error?.description.contains(variable) == true)
    }

    @Test func compatibleNeedsNoKey() throws {
        let router = ModelRouter(http: HTTPClient(), environment: [:], compatibleBaseURL: "http://127.0.0.1:8080/v1/")
        let endpoint = try router.endpoint(for: .compatible)
        #expect(endpoint.apiKey == nil)
        #expect(endpoint.baseURL == "http://127.0.0.1:8080/v1")
    }

    @Test func defaultBaseURLs() throws {
        let router = ModelRouter(
            http: HTTPClient(),
            environment: ["ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o", "OPENROUTER_API_KEY": "r"])
        #expect(try router.endpoint(for: .anthropic).baseURL == "https://api.anthropic.com")
        #expect(try router.endpoint(for: .openai).baseURL == "https://api.openai.com/v1")
        #expect(try router.endpoint(for: .openrouter).baseURL == "https://openrouter.ai/api/v1")
        #expect(try router.endpoint(for: .openai).apiKey == "o")
    }

    @Test func openAIBaseURLOverrideEndToEnd() async throws {
        let server = try LoopbackServer(script: [.json(200, F.completion("via router"))])
        let router = ModelRouter(
            http: HTTPClient(),
            environment: ["OPENAI_API_KEY": "sk-env-openai", "OPENAI_BASE_URL": server.baseURL + "/v1/"],
            settings: BackendSettings(retry: .none))
        let result = try await router.query(system: "s", user: "u", options: ModelOptions(model: "openai/gpt-4o"))
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/chat/completions")
        #expect(request.header("authorization") == "Bearer sk-env-openai")
        #expect(try JSONValue.parse(request.body)["model"] == "gpt-4o")
        #expect(result.output == .text("via router"))
        #expect(result.info.provider == .openai)
        #expect(result.costUSD != nil)
    }

    @Test func anthropicBaseURLOverrideEndToEnd() async throws {
        let server = try LoopbackServer(script: [.json(200, anthropicMessage)])
        let router = ModelRouter(
            http: HTTPClient(),
            environment: ["ANTHROPIC_API_KEY": "sk-ant-env", "ANTHROPIC_BASE_URL": server.baseURL],
            settings: BackendSettings(retry: .none))
        let result = try await router.query(
            system: "s", user: "u", options: ModelOptions(model: "claude-sonnet-4-5-20250929"))
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/messages")
        #expect(request.header("x-api-key") == "sk-ant-env")
        #expect(request.header("authorization") == nil)
        #expect(request.header("anthropic-version") == AnthropicBackend.apiVersion)
        #expect(try JSONValue.parse(request.body)["model"] == "claude-sonnet-4-5-20250929")
        #expect(result.output == .text("Hi from Claude"))
        #expect(result.info.provider == .anthropic)
    }

    @Test func openRouterAndCompatibleEndToEnd() async throws {
        let server = try LoopbackServer(script: [
            .json(200, F.completion("from openrouter", meta: F.Meta(model: "meta-llama/llama-3"))),
            .json(200, F.completion("from local", meta: F.Meta(model: "x"))),
        ])
        let router = ModelRouter(
            http: HTTPClient(),
            environment: ["OPENROUTER_API_KEY": "sk-or-env", "OPENROUTER_BASE_URL": server.baseURL + "/v1"],
            compatibleBaseURL: server.baseURL + "/v1", settings: BackendSettings(retry: .none))
        let routed = try await router.query(
            system: nil, user: "u", options: ModelOptions(model: "openrouter/meta-llama/llama-3"))
        let local = try await router.query(system: nil, user: "u", options: ModelOptions(model: "compatible/x"))
        #expect(routed.output == .text("from openrouter"))
        #expect(local.output == .text("from local"))
        #expect(server.requests.count == 2)
        let (openRouter, compatible) = (server.requests[0], server.requests[1])
        #expect(openRouter.header("authorization") == "Bearer sk-or-env")
        #expect(openRouter.header("x-title") == "aide")
        #expect(try JSONValue.parse(openRouter.body)["model"] == "meta-llama/llama-3")
        #expect(compatible.path == "/v1/chat/completions")
        #expect(compatible.header("authorization") == nil)
        #expect(try JSONValue.parse(compatible.body)["model"] == "x")
        #expect(local.info.provider == .compatible)
    }

    // MARK: Model table

    static let specs: [(String, String?)] = [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-5-chat-latest", "gpt-5-chat"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("openai/gpt-4o", "gpt-4o"),
        ("o3-mini", "o3-mini"),
        ("o1", "o1"),
        ("gpt-4oo", nil),
        ("llama-3", nil),
        ("", nil),
    ]

    @Test(arguments: specs)
    func modelTablePrefixMatching(model: String, id: String?) {
        #expect(ModelTable.spec(for: model)?.id == id)
    }

    @Test func modelTableReasoningFlags() {
        for model in ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini-2025-08-07"] {
            #expect(ModelTable.isReasoningModel(model), "\(model)")
        }
        for model in ["gpt-5-chat-latest", "gpt-4o", "gpt-4.1-mini", "llama-3", "omni-x"] {
            #expect(!ModelTable.isReasoningModel(model), "\(model)")
        }
    }
}
