import Foundation

/// How a failed request is tried again: exponential backoff with jitter, bounded by attempts and by
/// total time, and the provider's `retry-after` honoured when it gives one.
///
/// The defaults ride out a provider overload of a quarter of an hour: up to 12 attempts within 20
/// minutes, waits doubling from 2 s and capped at 2 minutes. A malformed answer with status 200 (a
/// proxy's HTML page, an empty body, JSON of the wrong shape) is tried at most `malformedAttempts` times.
public struct RetryPolicy: Sendable, Hashable, Codable {
    public var maxAttempts: Int
    /// Seconds from the first attempt after which no new attempt starts.
    public var maxElapsed: Double
    public var initialDelay: Double
    public var maxDelay: Double
    /// Fraction of each delay that is randomised (0 = none, 0.5 = ±50%).
    public var jitter: Double
    /// Attempts at most when the answers are malformed (a 200 whose body is not the provider's format).
    public var malformedAttempts: Int

    public init(
        maxAttempts: Int = 12, maxElapsed: Double = 1200, initialDelay: Double = 2, maxDelay: Double = 120,
        jitter: Double = 0.5, malformedAttempts: Int = 3
    ) {
        self.maxAttempts = maxAttempts
        self.maxElapsed = maxElapsed
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.malformedAttempts = malformedAttempts
    }

    /// Never retries.
    public static let none = RetryPolicy(maxAttempts: 1, malformedAttempts: 1)

    /// The backoff before attempt `attempt + 1`, ignoring any retry-after.
    func backoff(after attempt: Int) -> Double {
        let base = min(maxDelay, initialDelay * pow(2, Double(min(attempt, 60) - 1)))
        let spread = base * min(max(jitter, 0), 1)
        return max(0, base + Double.random(in: -spread...spread))
    }

    /// What `run` returns: the value, the attempts made, the seconds of the last one, and what each
    /// failed attempt failed with.
    struct Outcome<T: Sendable>: Sendable {
        var value: T
        var attempts: Int
        var lastAttempt: Double
        var failures: [String]
    }

    /// Runs `body` until it succeeds, fails for good, or the bounds are reached. Waits with `clock`.
    func run<T: Sendable>(clock: RetryClock = .system, _ body: (Int) async throws -> T) async throws -> Outcome<T> {
        let start = clock.now()
        var attempt = 0
        var malformed = 0
        var failures: [String] = []
        while true {
            attempt += 1
            let attemptStart = clock.now()
            do {
                let value = try await body(attempt)
                return Outcome(value: value, attempts: attempt, lastAttempt: clock.now() - attemptStart, failures: failures)
            } catch let error as LLMError {
                failures.append(error.description)
                var (retryable, after) = error.retry
                if case .malformedResponse = error {
                    malformed += 1
                    retryable = malformed < malformedAttempts
                }
                let elapsed = clock.now() - start
                guard retryable else {
                    throw attempt == 1 ? error : LLMError.gaveUp(attempts: attempt, seconds: elapsed, last: error, failures: failures)
                }
                // A retry-after longer than the cap is still honoured: sending sooner only earns another 429.
                let delay = after ?? backoff(after: attempt)
                guard attempt < maxAttempts, elapsed + delay < maxElapsed else {
                    throw attempt == 1 ? error : LLMError.gaveUp(attempts: attempt, seconds: elapsed, last: error, failures: failures)
                }
                try await clock.sleep(delay)
            }
        }
    }
}

/// The time source retries wait on: the real clock, or (in tests) one that runs faster or is virtual,
/// so an outage of many minutes is played through in a moment.
public struct RetryClock: Sendable {
    /// Seconds since an arbitrary origin.
    public var now: @Sendable () -> Double
    /// Waits this many seconds; throws when the task is cancelled.
    public var sleep: @Sendable (Double) async throws -> Void

    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// Wall time.
    public static let system: RetryClock = {
        let origin = ContinuousClock.now
        return RetryClock(
            now: { (ContinuousClock.now - origin).seconds },
            sleep: { try await Task.sleep(for: .seconds($0)) })
    }()
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
