import Foundation

/// Waiting for something another process does (a file appears, a row is committed, a process
/// exits). Such events cannot be subscribed to from a test, so they are polled. The deadline only
/// keeps a broken test from hanging: it is minutes long, so no load reaches it, and it is never a
/// measure of speed (speed is measured by the benchmark scripts).
public enum Poll {
    /// The default deadline.
    public static let patience: Duration = .seconds(600)

    /// Returns once `condition` holds; throws `PollTimeout` naming `what` when it still does not
    /// after `timeout`.
    public static func until(
        _ what: @autoclosure () -> String, timeout: Duration = patience, _ condition: () throws -> Bool
    ) async throws {
        _ = try await value(what(), timeout: timeout) { try condition() ? true : nil }
    }

    /// Returns the first non-nil value of `probe`; throws `PollTimeout` naming `what` when there is
    /// none after `timeout`.
    public static func value<T>(
        _ what: @autoclosure () -> String, timeout: Duration = patience, _ probe: () throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try probe() { return value }
            guard ContinuousClock.now < deadline else { throw PollTimeout(description: "\(what()): still not the case after \(timeout)") }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}

/// A polled condition never held.
public struct PollTimeout: Error, CustomStringConvertible {
    public let description: String
}
