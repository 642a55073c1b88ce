import AIDE
import Foundation
import Synchronization

/// What a fake script does: how long it takes on the test clock, what it prints, how it exits, and
/// which files it leaves in its `working` folder.
public struct FakeScript: Sendable {
    public var duration: Duration
    public var output: String
    public var exitCode: Int32
    /// File name → contents, written into the script's `working` folder when it ends.
    public var files: [String: String]

    public init(duration: Duration = .seconds(1), output: String = "", exitCode: Int32 = 0, files: [String: String] = [:]) {
        self.duration = duration
        self.output = output
        self.exitCode = exitCode
        self.files = files
    }
}

/// An `Interpreter` that runs nothing: each script takes its `FakeScript`'s duration on a
/// `TestClock`, times out as the real one does, and counts how many run at once. Budget, timeout,
/// cancellation and parallel-step tests use it to run in virtual time.
public final class FakeInterpreter: Interpreter {
    private let clock: TestClock
    private let plan: @Sendable (String) -> FakeScript
    private struct State {
        var running = 0
        var peak = 0
        var started = 0
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    /// `plan` says what each script (by its text) does.
    public init(clock: TestClock, plan: @escaping @Sendable (String) -> FakeScript) {
        self.clock = clock
        self.plan = plan
    }

    /// Most scripts that ran at once.
    public var peakConcurrency: Int { state.withLock { $0.peak } }
    /// Scripts started so far.
    public var started: Int { state.withLock { $0.started } }
    /// Scripts running now.
    public var running: Int { state.withLock { $0.running } }

    /// Returns once `count` scripts have started (an event, not a sleep).
    public func waitForStarts(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.started >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func run(script: String, in directory: URL, timeout: Double) async throws -> ExecutionResult {
        let script = plan(script)
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running += 1
            state.started += 1
            state.peak = max(state.peak, state.running)
            let started = state.started
            let ready = state.waiters.filter { $0.count <= started }.map(\.continuation)
            state.waiters.removeAll { $0.count <= started }
            return ready
        }
        for waiting in ready { waiting.resume() }
        defer { state.withLock { $0.running -= 1 } }
        let limit = Duration.seconds(timeout)
        if script.duration > limit {
            try await clock.sleep(for: limit)
            return ExecutionResult(
                output: script.output + "\nTimeoutError: the script ran past its \(Int(timeout)) s limit and was killed.\n",
                outputBytes: script.output.utf8.count, exitCode: nil, signal: 9, timedOut: true, duration: timeout)
        }
        try await clock.sleep(for: script.duration)
        let working = directory.appendingPathComponent("working", isDirectory: true)
        try FileManager.default.createDirectory(at: working, withIntermediateDirectories: true)
        for (name, text) in script.files {
            try Data(text.utf8).write(to: working.appendingPathComponent(name))
        }
        let seconds = Double(script.duration.components.seconds) + Double(script.duration.components.attoseconds) / 1e18
        return ExecutionResult(
            output: script.output, outputBytes: script.output.utf8.count, exitCode: script.exitCode, duration: seconds)
    }
}
