import Foundation
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Why a script could not be run at all (as opposed to running and failing, which is a result).
public enum PythonInterpreterError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The Python executable is not a file that can be run (searched for on `searchPath` when a bare name).
    case pythonNotFound(executable: String, searchPath: String?)
    /// `runfile.py` (or its directory) could not be written.
    case cannotWriteScript(path: String, reason: String)
    /// A timeout or limit that cannot be applied (not positive, not a number).
    case invalidSetting(String)
    /// Starting the process, or reading its output, failed.
    case launchFailed(executable: String, reason: String)

    public var description: String {
        switch self {
        case .pythonNotFound(let executable, let searchPath):
            if executable.contains("/") { return "Python executable '\(executable)' does not exist or is not executable" }
            return "Python executable '\(executable)' not found on PATH (\(searchPath ?? "PATH is not set"))"
        case .cannotWriteScript(let path, let reason):
            return "cannot write the script to \(path): \(reason)"
        case .invalidSetting(let message):
            return "invalid interpreter setting: \(message)"
        case .launchFailed(let executable, let reason):
            return "running \(executable) failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// Runs solution scripts with a local Python: `python runfile.py` in the given directory, in a session
/// of its own (so the whole process group can be killed), in a `Sandbox` when given one, with only the
/// allowed environment variables, optional memory, CPU, process and file-size limits, a wall-clock
/// timeout, and output kept head and tail within a byte budget.
public struct PythonInterpreter: Interpreter {
    /// The name every script is written under, in the run directory.
    public static let scriptName = "runfile.py"

    /// The Python to run: a path, or a name looked up on the `PATH` of `baseEnvironment`.
    public var python: String
    /// The environment scripts start from, before `ScriptEnvironment.allowed(_:)` keeps what may pass.
    public var baseEnvironment: [String: String]
    /// Address-space limit (`ulimit -v`) in MiB; an allocation beyond it raises `MemoryError`.
    public var memoryLimitMB: Int?
    /// CPU-time limit (`ulimit -t`) in seconds, rounded up to whole seconds; past it the kernel kills
    /// the script with SIGXCPU.
    public var cpuLimit: Double?
    /// Output bytes kept: the first half and the last half of this budget.
    public var outputLimit: Int
    /// Threads each numeric library (OpenMP, OpenBLAS, MKL) may start, unless the environment sets
    /// it already; nil leaves them to the library. Several scripts at once, each with a thread per
    /// core, oversubscribe the CPU, and OpenMP's spinning threads then slow everyone badly.
    public var threadsPerScript: Int?
    /// The bubblewrap sandbox scripts run in; nil runs them as the harness's user (`exec.sandbox: none`).
    public var sandbox: Sandbox?
    /// Largest file a script may write, bytes (`RLIMIT_FSIZE`); nil for none.
    public var fileSizeLimit: Int?
    /// Processes and threads a script may have (`RLIMIT_NPROC`, in the sandbox as a non-root user); nil for none.
    public var processLimit: Int?
    /// The GPUs to share among scripts running at once (`CUDA_VISIBLE_DEVICES`); nil leaves it unset.
    public var gpus: GPUPool?
    /// The most a script may write to its folder in all; past it the script is stopped and what it
    /// wrote removed. Nil for no cap.
    public var diskCap: DiskCap?
    /// What `ScriptIsolation` decided, for the run's record.
    public var isolationSummary: String?
    public var isolation: String? { isolationSummary ?? (sandbox == nil ? "none" : "bwrap") }

    /// - Parameters:
    ///   - python: a path, or a name looked up on the `PATH` of `baseEnvironment`.
    ///   - baseEnvironment: scrubbed of secrets and `AIDE_*` before the script sees it.
    ///   - memoryLimitMB: address-space limit in MiB, or nil for none.
    ///   - cpuLimit: CPU seconds, or nil for none.
    ///   - outputLimit: output bytes kept (head and tail halves).
    public init(
        python: String = "python3", baseEnvironment: [String: String] = ProcessInfo.processInfo.environment,
        memoryLimitMB: Int? = nil, cpuLimit: Double? = nil, outputLimit: Int = 32_000, threadsPerScript: Int? = nil,
        sandbox: Sandbox? = nil, fileSizeLimit: Int? = nil, processLimit: Int? = nil, gpus: GPUPool? = nil,
        diskCap: DiskCap? = nil
    ) {
        self.diskCap = diskCap
        self.sandbox = sandbox
        self.fileSizeLimit = fileSizeLimit
        self.processLimit = processLimit
        self.gpus = gpus
        self.threadsPerScript = threadsPerScript
        self.python = python
        self.baseEnvironment = baseEnvironment
        self.memoryLimitMB = memoryLimitMB
        self.cpuLimit = cpuLimit
        self.outputLimit = outputLimit
    }

    /// Writes `script` as `runfile.py` in `directory` (created if missing) and runs it there with stdin
    /// empty and stdout and stderr interleaved. After `timeout` seconds the whole process group is
    /// killed and the result says `timedOut`; when the script exits on its own, whatever it left
    /// running in its group is killed too, so an orphan cannot hold the output pipe open or outlive
    /// the run. A non-zero exit, a signal or a timeout is a result; only failing to start throws.
    public func run(script: String, in directory: URL, timeout: Double) async throws -> ExecutionResult {
        guard timeout > 0 else { throw PythonInterpreterError.invalidSetting("timeout must be positive, not \(timeout)") }
        let pythonPath = try sandbox?.python ?? resolvedPython()
        try write(script, in: directory)
        let (executable, arguments) = try command(python: pythonPath, in: directory)

        var variables = scriptVariables()
        let leased = gpus?.lease() ?? []
        defer { gpus?.release(leased) }
        if gpus != nil { variables["CUDA_VISIBLE_DEVICES"] = GPUPool.visibleDevices(leased) }
        if let sandbox {
            variables = sandbox.environment(variables)
            do { try sandbox.prepare(folder: directory) } catch {
                throw PythonInterpreterError.launchFailed(executable: executable, reason: "\(error)")
            }
        }
        let environment = Self.environment(variables)
        var platformOptions = PlatformOptions()
        platformOptions.createSession = true  // its own session and group: one killpg reaches every descendant
        let options = platformOptions

        let control = RunControl()
        let outputLimit = outputLimit
        let diskCap = diskCap
        let clock = ContinuousClock()
        let start = clock.now
        // Cancelled (the run is stopping at once: SIGTERM, a second Ctrl-C): everything it started dies now.
        let outcome = try await withTaskCancellationHandler {
          try await withThrowingTaskGroup(of: RunOutcome?.self) { group in
            // One task keeps the time and watches the disk. Beyond ~30 years there is nothing to
            // time, and Duration would overflow.
            let deadline = timeout < 1e9 ? start + .seconds(timeout) : nil
            if deadline != nil || diskCap != nil {
                group.addTask {
                    var disk = diskCap.map { DiskCap.Watch(cap: $0, folder: directory) }
                    while true {
                        var wake = deadline ?? clock.now + DiskCap.tick
                        if disk != nil { wake = min(wake, clock.now + DiskCap.tick) }
                        do { try await Task.sleep(until: wake, clock: clock) } catch { return nil }
                        if let deadline, clock.now >= deadline {
                            control.timeOut()
                            return nil
                        }
                        if let reason = await disk?.check() {
                            control.stop(because: reason)
                            return nil
                        }
                    }
                }
            }
            group.addTask {
                // Runs whether the script ended, the launch failed or the task was cancelled.
                defer { control.finish() }
                let result = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments),
                    environment: environment,
                    workingDirectory: FilePath(directory.path), platformOptions: options,
                    input: .none, output: .sequence, error: .combinedWithOutput
                ) { execution in
                    let process = execution.processIdentifier
                    let output = execution.standardOutput
                    control.started(processGroup: process.value)
                    return try await withThrowingTaskGroup(of: OutputBuffer?.self) { reading in
                        reading.addTask {
                            var buffer = OutputBuffer(limit: outputLimit)
                            // Ends at EOF, or once the script has exited and the pipe is drained.
                            for try await chunk in output {
                                chunk.withUnsafeBytes { buffer.append($0) }
                            }
                            return buffer
                        }
                        reading.addTask {
                            // Subprocess stops reading when the script exits, but only once the pipe runs
                            // dry: an orphan that keeps writing would hold the run until the timeout. It
                            // dies as soon as the script is seen to have exited.
                            while !Self.hasExited(process) {
                                do { try await Task.sleep(for: .milliseconds(50)) } catch { return nil }
                            }
                            control.finish()
                            return nil
                        }
                        var buffer: OutputBuffer?
                        while let next = try await reading.next() {
                            if let next {
                                buffer = next
                                reading.cancelAll()  // the watcher, if the pipe closed before the script exited
                            }
                        }
                        return buffer!
                    }
                }
                return RunOutcome(status: result.terminationStatus, output: result.closureResult)
            }
            var outcome: RunOutcome?
            do {
                while let next = try await group.next() {
                    if let next {
                        outcome = next
                        group.cancelAll()  // the timer, if still sleeping
                    }
                }
            } catch let error as SubprocessError {
                throw PythonInterpreterError.launchFailed(executable: executable, reason: "\(error)")
            }
            return outcome!
          }
        } onCancel: {
            control.finish()
        }
        try Task.checkCancellation()
        let elapsed = clock.now - start
        var result = Self.result(
            outcome, timedOut: control.timedOut, duration: elapsed, directory: directory, sandboxed: sandbox != nil)
        if let reason = control.stoppedBecause {
            result.stoppedBecause = reason
            DiskCap.cleanUp(directory)
        }
        return result
    }

    /// The variables a script starts with, before GPUs and the sandbox's own: the allowed ones,
    /// unbuffered output, and the thread counts chosen for it.
    func scriptVariables() -> [String: String] {
        var variables = ScriptEnvironment.allowed(baseEnvironment)
        variables["PYTHONUNBUFFERED"] = "1"  // keeps prints and tracebacks in the order they happened
        if let threadsPerScript {
            for name in Self.threadVariables where variables[name] == nil { variables[name] = "\(threadsPerScript)" }
        }
        return variables
    }

    /// The interpreter's path: `python` itself when it names a path, else the first executable match on
    /// the `PATH` the script will see (this process's when `baseEnvironment` has none).
    func resolvedPython() throws -> String {
        let files = FileManager.default
        func runnable(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return files.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && files.isExecutableFile(atPath: path)
        }
        if python.contains("/") {
            // Absolute, because the script runs in another working directory.
            let path = URL(fileURLWithPath: python).path
            guard runnable(path) else { throw PythonInterpreterError.pythonNotFound(executable: python, searchPath: nil) }
            return path
        }
        let searchPath = baseEnvironment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"]
        guard !python.isEmpty else { throw PythonInterpreterError.pythonNotFound(executable: python, searchPath: searchPath) }
        for directory in (searchPath ?? "").split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(python).path
            if runnable(candidate) { return candidate }
        }
        throw PythonInterpreterError.pythonNotFound(executable: python, searchPath: searchPath)
    }

    /// `python runfile.py`: in the sandbox through bwrap (limits set by prlimit inside), or, with limits,
    /// through `/bin/sh` so `ulimit` (setrlimit) applies to Python alone: `exec` replaces the shell, so
    /// the pid, exit status and signal stay Python's.
    func command(python: String, in directory: URL? = nil) throws -> (executable: String, arguments: [String]) {
        if let fileSizeLimit, fileSizeLimit < 1 {
            throw PythonInterpreterError.invalidSetting("fileSizeLimit must be positive, not \(fileSizeLimit)")
        }
        if let sandbox, let directory {
            var limits = ScriptLimits(processes: processLimit, fileBytes: fileSizeLimit)
            if let memoryLimitMB {
                guard memoryLimitMB > 0, memoryLimitMB <= Int.max / (1 << 20) else { throw PythonInterpreterError.invalidSetting("memoryLimitMB must be positive, not \(memoryLimitMB)") }
                limits.memoryBytes = memoryLimitMB << 20
            }
            if let cpuLimit {
                guard cpuLimit > 0, cpuLimit < 1e9 else { throw PythonInterpreterError.invalidSetting("cpuLimit must be a positive number of seconds, not \(cpuLimit)") }
                limits.cpuSeconds = Int(cpuLimit.rounded(.up))
            }
            return (sandbox.bwrap, sandbox.arguments(
                command: [python, Self.scriptName], folder: directory,
                readOnlyMounts: Self.linkedFolders(in: directory), limits: limits))
        }
        var limits: [String] = []
        if let memoryLimitMB {
            guard memoryLimitMB > 0, memoryLimitMB <= Int.max / 1024 else { throw PythonInterpreterError.invalidSetting("memoryLimitMB must be positive, not \(memoryLimitMB)") }
            limits.append("ulimit -v \(memoryLimitMB * 1024)")
        }
        if let cpuLimit {
            guard cpuLimit > 0, cpuLimit < 1e9 else { throw PythonInterpreterError.invalidSetting("cpuLimit must be a positive number of seconds, not \(cpuLimit)") }
            limits.append("ulimit -t \(Int(cpuLimit.rounded(.up)))")
        }
        // POSIX counts `ulimit -f` in 512-byte blocks.
        if let fileSizeLimit { limits.append("ulimit -f \(max(1, fileSizeLimit / 512))") }
        guard !limits.isEmpty else { return (python, [Self.scriptName]) }
        // `set -e`: a limit that cannot be set stops the run rather than running unlimited.
        let shell = "set -e; " + limits.joined(separator: "; ") + "; exec \"$0\" \"$@\""
        return ("/bin/sh", ["-c", shell, python, Self.scriptName])
    }

    /// `variables` as Subprocess wants them. Names POSIX forbids (empty, with `=` or NUL, starting with a
    /// digit) and values with NUL are dropped: Subprocess would refuse to spawn with them.
    /// The variables numeric libraries read for their thread count.
    static let threadVariables = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]

    private static func environment(_ variables: [String: String]) -> Environment {
        var keyed: [Environment.Key: String] = [:]
        for (name, value) in variables {
            guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                !name.contains("="), !name.contains("\0"), !value.contains("\0")
            else { continue }
            // `init(stringLiteral:)` is the only public way to make a key from a runtime string. (Not
            // `.custom([[UInt8]])`: Subprocess strdup()s those arrays, so they would need a NUL of their own.)
            keyed[Environment.Key(stringLiteral: name)] = value
        }
        return .custom(keyed)
    }

    func write(_ script: String, in directory: URL) throws {
        let file = directory.appendingPathComponent(Self.scriptName)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(script.utf8).write(to: file, options: .atomic)
        } catch {
            throw PythonInterpreterError.cannotWriteScript(path: file.path, reason: ErrorText.reason(error))
        }
    }

    /// The folders the harness linked into a node folder (`input -> ../../input`): each bound read-only
    /// into the sandbox where the link leads, from where it finally resolves (the run's copy, or the
    /// task's data itself through the run's `input` link), so the link works there and nothing else
    /// of the run is seen.
    static func linkedFolders(in directory: URL) -> [Sandbox.ReadOnlyMount] {
        let files = FileManager.default
        let names = (try? files.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            let link = directory.appendingPathComponent(name)
            guard let destination = try? files.destinationOfSymbolicLink(atPath: link.path) else { return nil }
            let target = link.resolvingSymlinksInPath()
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: target.path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            // Where the link leads inside the sandbox, whose folders are only the mount points made there.
            let at = destination.hasPrefix("/")
                ? URL(fileURLWithPath: destination) : directory.standardizedFileURL.appendingPathComponent(destination)
            return Sandbox.ReadOnlyMount(source: target.path, destination: at.standardized.path)
        }
    }

    /// Whether the script has exited, without reaping it (Subprocess does that, and needs the status).
    private static func hasExited(_ process: ProcessIdentifier) -> Bool {
        #if os(Linux)
        if process.processDescriptor >= 0 {
            // A pidfd polls readable once the process has terminated.
            var entry = pollfd(fd: process.processDescriptor, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 0) > 0
        }
        #endif
        var info = siginfo_t()
        guard waitid(P_PID, id_t(process.value), &info, WEXITED | WNOWAIT | WNOHANG) == 0 else { return errno == ECHILD }
        #if canImport(Glibc)
        return info._sifields._kill.si_pid != 0
        #else
        return info.si_pid != 0
        #endif
    }

    private static func result(
        _ outcome: RunOutcome, timedOut: Bool, duration: Duration, directory: URL, sandboxed: Bool
    ) -> ExecutionResult {
        // Python prints the script's absolute path in tracebacks (`File "/…/nodes/0003-1a2b3c4d/runfile.py"`);
        // it names the run, so it is cut to `runfile.py`: prompts then depend on the script alone,
        // and a recorded run replays.
        let output = cleanedOutput(outcome.output.text, directory: directory)
        var result = ExecutionResult(
            output: output, outputBytes: outcome.output.totalBytes, exitCode: nil, timedOut: timedOut,
            duration: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        switch outcome.status {
        case .exited(let code) where sandboxed && code > 128 && code < 128 + 65:
            // bwrap reports a child killed by a signal as 128 + the signal.
            result.signal = code - 128
        case .exited(let code): result.exitCode = code
        case .signaled(let signal): result.signal = signal
        }
        if timedOut {
            result.exceptionType = "TimeoutError"  // as AIDE reports it
        } else if result.exitCode != 0, let exception = TracebackParser.lastException(in: output) {
            // Only a failed run: a script that prints a caught traceback and exits 0 raised nothing.
            result.exceptionType = exception.type
            result.traceback = exception.traceback
        }
        return result
    }

    /// Output as it is stored and shown: the node folder's path cut from it, NULs made visible.
    static func cleanedOutput(_ text: String, directory: URL) -> String {
        var output = text
        let folders = Set([directory.path, directory.resolvingSymlinksInPath().path]).map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        for folder in folders.sorted(by: { $0.count > $1.count }) {
            output = output.replacingOccurrences(of: folder, with: "")
        }
        // A NUL would cut the text where it is stored or sent; it is shown, not dropped.
        return output.replacingOccurrences(of: "\0", with: "\u{2400}")
    }
}

private struct RunOutcome: Sendable {
    var status: TerminationStatus
    var output: OutputBuffer
}

/// What the timer and the run share: the script's process group and whether the timer fired. Kills
/// happen under the lock so a timer firing as the run ends cannot race `finish()`.
private final class RunControl: Sendable {
    private struct State {
        var processGroup: pid_t?
        var timedOut = false
        var stoppedBecause: String?
        var finished = false
    }

    private let state = Mutex(State())

    var timedOut: Bool { state.withLock { $0.timedOut } }
    var stoppedBecause: String? { state.withLock { $0.stoppedBecause } }

    /// The script started (as leader of its own group); kill it at once if the timer already fired.
    func started(processGroup: pid_t) {
        state.withLock { state in
            state.processGroup = processGroup
            if state.timedOut { Self.kill(processGroup) }
        }
    }

    func timeOut() {
        state.withLock { state in
            guard !state.finished, state.stoppedBecause == nil else { return }
            state.timedOut = true
            if let group = state.processGroup { Self.kill(group) }
        }
    }

    /// A limit the harness watches was passed: the script and everything in its group die now.
    func stop(because reason: String) {
        state.withLock { state in
            guard !state.finished, !state.timedOut, state.stoppedBecause == nil else { return }
            state.stoppedBecause = reason
            if let group = state.processGroup { Self.kill(group) }
        }
    }

    /// The script has exited (or never started): kill what it left behind in its group. From now on the
    /// timer has nothing to time.
    func finish() {
        state.withLock { state in
            state.finished = true
            if let group = state.processGroup { Self.kill(group) }
        }
    }

    private static func kill(_ processGroup: pid_t) {
        // ESRCH (nothing left in the group) is the usual, harmless answer.
        _ = killpg(processGroup, SIGKILL)
    }
}
