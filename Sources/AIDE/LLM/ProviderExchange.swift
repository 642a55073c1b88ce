import Foundation

/// Folds a provider's server-sent events into the same message its non-streaming endpoint returns.
protocol StreamFolder: Sendable {
    associatedtype Message: Sendable
    /// Takes one event; returns the deltas it carries, for a live observer.
    mutating func consume(_ event: SSEEvent) throws -> [StreamDelta]
    /// The provider's closing event has arrived.
    var isComplete: Bool { get }
    /// Any content has arrived (so a retry would repeat what an observer already saw).
    var hasOutput: Bool { get }
    /// How much arrived, for the error when the stream breaks off.
    var receivedSummary: String { get }
    func message() throws -> Message
    /// The deltas a whole message carries: what an observer is given when the server answers a
    /// streaming request with one JSON body, so it still sees the answer.
    static func deltas(of message: Message) -> [StreamDelta]
}

/// One HTTP exchange with a provider, attempted under the retry policy, streamed or whole.
struct ProviderExchange: Sendable {
    /// Seconds a streamed answer may take in all, at least.
    static let streamTotal: Double = 3600
    let provider: CallProvider
    let http: HTTPClient
    let settings: BackendSettings

    struct Outcome<Message: Sendable>: Sendable {
        var message: Message
        var attempts: Int
        var latency: Double
        var lastAttempt: Double
        /// What each failed attempt failed with, in order.
        var failures: [String]
    }

    func perform<Folder: StreamFolder>(
        _ request: HTTPRequest, streaming: Bool, folder: @escaping @Sendable () -> Folder,
        decode: @escaping @Sendable (Data) throws -> Folder.Message, observer: StreamObserver?
    ) async throws -> Outcome<Folder.Message> {
        var request = request
        request.timeouts = settings.timeouts
        // A whole (non-streamed) answer sends no byte until the model is done: only the total bounds it.
        // A stream is bounded by its idle timeout; its total only stops a stream that trickles forever,
        // so a long answer (a large thinking budget) is not cut at the whole-answer timeout.
        if !streaming { request.timeouts.idle = request.timeouts.total }
        else { request.timeouts.total = max(request.timeouts.total, Self.streamTotal) }
        let start = ContinuousClock.now
        let outcome = try await settings.retry.run(clock: settings.clock) { _ in
            if streaming {
                return try await streamOnce(request, folder: folder(), decode: decode, observer: observer)
            }
            let response: HTTPResponse
            do {
                response = try await http.send(request)
            } catch let error as CurlError {
                throw LLMError.transport(error)
            }
            guard (200..<300).contains(response.status) else { throw LLMError.api(apiError(response)) }
            return try decode(response.body)
        }
        return Outcome(
            message: outcome.value, attempts: outcome.attempts, latency: (ContinuousClock.now - start).seconds,
            lastAttempt: outcome.lastAttempt, failures: outcome.failures)
    }

    private func streamOnce<Folder: StreamFolder>(
        _ request: HTTPRequest, folder: Folder, decode: (Data) throws -> Folder.Message, observer: StreamObserver?
    ) async throws -> Folder.Message {
        var folder = folder
        var parser = SSEParser()
        var head: HTTPHead?
        var wholeBody: Data?  // an error, or a server that answered JSON despite `stream: true`
        do {
            for try await event in http.stream(request) {
                switch event {
                case .head(let received):
                    head = received
                    let json = received.header("content-type")?.contains("application/json") ?? false
                    if !(200..<300).contains(received.status) || json { wholeBody = Data() }
                case .body(let chunk):
                    if wholeBody != nil {
                        wholeBody?.append(chunk)
                        continue
                    }
                    for sse in parser.feed(chunk) {
                        for delta in try folder.consume(sse) { observer?(delta) }
                    }
                }
                if folder.isComplete { break }
            }
        } catch let error as CurlError {
            guard head != nil, wholeBody == nil else { throw LLMError.transport(error) }
            // Without a live observer nobody has seen the partial answer: a stall is retried like a
            // connection failure.
            throw LLMError.streamInterrupted(
                provider: provider, received: folder.receivedSummary, cause: error.description,
                beforeOutput: !folder.hasOutput || observer == nil)
        }
        guard let head else { throw CancellationError() }
        if let body = wholeBody {
            let response = HTTPResponse(head: head, body: body)
            guard (200..<300).contains(head.status) else { throw LLMError.api(apiError(response)) }
            let message = try decode(body)
            if let observer { for delta in Folder.deltas(of: message) { observer(delta) } }
            return message
        }
        guard folder.isComplete else {
            try Task.checkCancellation()
            let partial = parser.finish()
            throw LLMError.streamInterrupted(
                provider: provider, received: folder.receivedSummary,
                cause: "the server closed the stream before its final event" + (partial ? " (mid-event)" : ""),
                beforeOutput: !folder.hasOutput || observer == nil)
        }
        return try folder.message()
    }

    /// The provider's error, in its own words: `{"error": {"type", "message"}}` is what both Anthropic
    /// and OpenAI (and compatible servers) send; anything else is quoted.
    func apiError(_ response: HTTPResponse) -> ProviderAPIError {
        let json = try? JSONValue.parse(response.body)
        let error = json?["error"]
        let message =
            error?["message"]?.stringValue ?? error?.stringValue ?? json?["message"]?.stringValue
            ?? (response.body.isEmpty ? "(empty body)" : LLMError.excerpt(response.body))
        let type = error?["type"]?.stringValue ?? error?["code"]?.stringValue
        let requestID =
            response.header("request-id") ?? response.header("x-request-id") ?? json?["request_id"]?.stringValue
        return ProviderAPIError(
            provider: provider, status: response.status, type: type, message: message, requestID: requestID,
            retryAfter: Self.retryAfter(response.head))
    }

    /// Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date.
    static func retryAfter(_ head: HTTPHead) -> Double? {
        if let text = head.header("retry-after-ms"), let milliseconds = Double(text), milliseconds >= 0 {
            return milliseconds / 1000
        }
        guard let text = head.header("retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(text), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }

    /// Decodes a whole JSON body, or throws a malformed-response error quoting it.
    static func parseBody(_ data: Data, provider: CallProvider) throws -> JSONValue {
        do {
            let json = try JSONValue.parse(data)
            guard json.objectValue != nil else {
                throw LLMError.malformedResponse(
                    provider: provider, reason: "expected a JSON object", excerpt: LLMError.excerpt(data))
            }
            return json
        } catch let error as LLMError {
            throw error
        } catch {
            throw LLMError.malformedResponse(provider: provider, reason: "not JSON", excerpt: LLMError.excerpt(data))
        }
    }

    /// Decodes the JSON data of one stream event.
    static func parseEvent(_ event: SSEEvent, provider: CallProvider) throws -> JSONValue {
        do {
            return try JSONValue.parse(event.data)
        } catch {
            throw LLMError.malformedResponse(
                provider: provider, reason: "stream event \(event.event ?? "message") is not JSON",
                excerpt: String(event.data.prefix(300)))
        }
    }
}
