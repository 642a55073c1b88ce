import Foundation

/// An async HTTP client on libcurl: whole responses or streamed chunks, connections reused across calls.
///
/// TLS peers are verified, and libcurl's standard proxy variables (`https_proxy`, `http_proxy`,
/// `no_proxy`, …) apply unless `Configuration.proxy` names one. Cancelling the calling task aborts
/// the transfer.
public final class HTTPClient: Sendable {
    /// Settings shared by every transfer of one client.
    public struct Configuration: Sendable {
        public var userAgent: String
        /// An explicit proxy URL; nil leaves the choice to the standard proxy environment variables.
        public var proxy: String?

        public init(userAgent: String = "aide/\(AIDEVersion.current)", proxy: String? = nil) {
            self.userAgent = userAgent
            self.proxy = proxy
        }
    }

    private let engine: CurlEngine

    public init(configuration: Configuration = Configuration()) {
        engine = CurlEngine(configuration: configuration)
    }

    deinit {
        engine.shutdown()
    }

    /// Streams a transfer: `.head` once, then `.body` chunks as curl receives them.
    /// Ending iteration early, or cancelling the task, aborts the transfer.
    public func stream(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamEvent, any Error> {
        engine.start(request)
    }

    /// Sends a request and collects the whole response, whatever its status.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var head: HTTPHead?
        var body = Data()
        for try await event in stream(request) {
            switch event {
            case .head(let received): head = received
            case .body(let chunk): body.append(chunk)
            }
        }
        // A cancelled task ends the iteration without an error; never pass off a cut body as a response.
        try Task.checkCancellation()
        guard let head else { throw CancellationError() }
        return HTTPResponse(head: head, body: body)
    }
}

/// The harness's version, sent in the user agent.
public enum AIDEVersion {
    public static let current = "0.1.0"
}
