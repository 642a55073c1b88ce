import Foundation

/// How a failed request is tried again: exponential backoff with jitter, bounded by attempts and by
/// total time, and the provider's `retry-after` honoured when it gives one.
public struct RetryPolicy: Sendable, Hashable, Codable {
    public var maxAttempts: Int
    /// Seconds from the first attempt after which no new attempt starts.
    public var maxElapsed: Double
    public var initialDelay: Double
    public var maxDelay: Double
    /// Fraction of each delay that is randomised (0 = none, 0.5 = ±50%).
    public var jitter: Double

    public init(
        maxAttempts: Int = 6, maxElapsed: Double = 600, initialDelay: Double = 1, maxDelay: Double = 60,
        jitter: Double = 0.5
    ) {
        self.maxAttempts = maxAttempts
        self.maxElapsed = maxElapsed
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// Never retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The backoff before attempt `attempt + 1`, ignoring any retry-after.
    func backoff(after attempt: Int) -> Double {
        let base = min(maxDelay, initialDelay * pow(2, Double(attempt - 1)))
        let spread = base * min(max(jitter, 0), 1)
        return max(0, base + Double.random(in: -spread...spread))
    }

    /// Runs `body` until it succeeds, fails for good, or the bounds are reached.
    /// Returns the value, the number of attempts and the seconds of the last attempt.
    func run<T: Sendable>(_ body: (Int) async throws -> T) async throws -> (value: T, attempts: Int, lastAttempt: Double) {
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let attemptStart = ContinuousClock.now
            do {
                let value = try await body(attempt)
                return (value, attempt, (ContinuousClock.now - attemptStart).seconds)
            } catch let error as LLMError {
                let (retryable, after) = error.retry
                let elapsed = (ContinuousClock.now - start).seconds
                guard retryable else { throw error }
                let delay = after ?? backoff(after: attempt)
                guard attempt < maxAttempts, elapsed + delay < maxElapsed else {
                    throw attempt == 1 ? error : LLMError.gaveUp(attempts: attempt, seconds: elapsed, last: error)
                }
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
