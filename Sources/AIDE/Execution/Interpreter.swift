import Foundation

/// What running one solution script produced.
public struct ExecutionResult: Sendable, Codable, Hashable {
    /// Standard output and error, interleaved; head and tail kept within the output limit, with a
    /// marker saying how much was left out between them.
    public var output: String
    /// Bytes the script wrote in all, kept or not.
    public var outputBytes: Int
    /// Exit status; nil when a signal ended the process.
    public var exitCode: Int32?
    /// The signal that ended the process, if one did.
    public var signal: Int32?
    public var timedOut: Bool
    /// Wall seconds from start to exit.
    public var duration: Double
    /// The Python exception's type (`ValueError`, `MemoryError`, …) when the script raised.
    public var exceptionType: String?
    /// The traceback, when the script raised.
    public var traceback: String?
    /// Why the harness stopped the script early, when a limit it watches was passed ("wrote more
    /// than 64 MB to its folder (exec.max_disk_mb)"); kept in the node's bug reasons.
    public var stoppedBecause: String?
    /// Where the script ran, when not as a local child process (a Slurm job).
    public var placement: ScriptPlacement?

    public init(
        output: String, outputBytes: Int, exitCode: Int32?, signal: Int32? = nil, timedOut: Bool = false,
        duration: Double, exceptionType: String? = nil, traceback: String? = nil
    ) {
        self.output = output
        self.outputBytes = outputBytes
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.duration = duration
        self.exceptionType = exceptionType
        self.traceback = traceback
    }

    /// The script ended normally with status 0 and raised nothing.
    public var succeeded: Bool { exitCode == 0 && !timedOut && exceptionType == nil }
}

/// Runs solution scripts. Implementations differ in where and how (a local Python, later others).
public protocol Interpreter: Sendable {
    /// Writes `script` as `runfile.py` in `directory` and runs it there, within `timeout` seconds.
    func run(script: String, in directory: URL, timeout: Double) async throws -> ExecutionResult
    /// How scripts are isolated, for the run's record (`bwrap`, `none (…)`); nil when unknown.
    var isolation: String? { get }
    /// The sandbox scripts run in, which shows them the run's `input` read-only; nil when none
    /// (the task's data is then copied, or linked unprotected, never mounted).
    var sandbox: Sandbox? { get }
    /// Whether a script outlives this process (a Slurm job): the run then records each step's
    /// context until it is committed, so a resumed run can take the script's result over (`adopt`).
    var scriptsOutliveProcess: Bool { get }
    /// The result of the script a stopped aide started in `directory`, waited for if it still runs;
    /// nil when there is none to take over (the step's script then runs again).
    func adopt(in directory: URL) async throws -> ExecutionResult?
}

extension Interpreter {
    public var isolation: String? { nil }
    public var sandbox: Sandbox? { nil }
    public var scriptsOutliveProcess: Bool { false }
    public func adopt(in directory: URL) async throws -> ExecutionResult? { nil }
}
