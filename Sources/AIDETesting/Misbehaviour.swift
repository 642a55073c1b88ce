import AIDE
import Foundation
import Synchronization

/// Answers of a provider having a bad day, for fault tests: what CDNs, proxies and overloaded
/// providers really send.
extension LoopbackResponse {
    /// A proxy's HTML error page with status 200.
    public static let htmlPage = LoopbackResponse(
        status: 200, headers: [("Content-Type", "text/html; charset=utf-8")],
        parts: [.text("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>")])

    /// Status 200 with an empty body.
    public static let empty200 = LoopbackResponse(status: 200, headers: [("Content-Type", "application/json")], parts: [])

    /// A CDN's own error (520–524, 502) with an HTML body.
    public static func cdnError(_ status: Int) -> LoopbackResponse {
        LoopbackResponse(
            status: status, headers: [("Content-Type", "text/html")],
            parts: [.text("<html><body><h1>\(status)</h1>origin unreachable</body></html>")])
    }

    /// Accepts the connection and never sends a byte (for as long as a test lasts).
    public static let neverAnswers = LoopbackResponse.stall(3600)

    /// A server-sent-events stream that sends `events` and then goes silent without closing.
    public static func streamStopping(after events: [String]) -> LoopbackResponse {
        var response = LoopbackResponse.sse(events)
        response.parts.append(.delay(3600))
        return response
    }
}

/// A clock for retry tests on which waits take no real time: `sleep` moves the clock on at once, so an
/// outage of a quarter of an hour plays out in a moment, in the same order as in real time.
public final class VirtualClock: Sendable {
    private let seconds = Mutex<Double>(0)

    public init() {}

    /// Seconds since the clock was made.
    public var now: Double { seconds.withLock { $0 } }

    /// The retry clock reading and advancing this one.
    public var retryClock: RetryClock {
        RetryClock(
            now: { [self] in now },
            sleep: { [self] delay in
                try Task.checkCancellation()
                seconds.withLock { $0 += max(0, delay) }
                await Task.yield()
            })
    }
}
