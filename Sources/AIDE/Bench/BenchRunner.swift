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

/// The folders of a bench (see BenchPlan.swift for the layout).
public struct BenchFolder: Sendable, Hashable {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardized
    }

    public var index: URL { root.appendingPathComponent(BenchIndex.fileName) }
    public var cases: URL { root.appendingPathComponent("cases", isDirectory: true) }
    public var slurmLogs: URL { root.appendingPathComponent("slurm", isDirectory: true) }
    public var sbatchScript: URL { root.appendingPathComponent("job.sbatch") }

    /// Where a case's run is made (its runs folder) and its output log kept.
    public func caseFolder(_ benchCase: BenchCase) -> URL {
        cases.appendingPathComponent(benchCase.folderName, isDirectory: true)
    }

    public func log(_ benchCase: BenchCase) -> URL {
        caseFolder(benchCase).appendingPathComponent("output.log")
    }

    /// The case's run folder, when a run was started: the latest folder in the case folder holding a run.sqlite.
    public func existingRun(_ benchCase: BenchCase) -> URL? {
        let folder = caseFolder(benchCase)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().reversed().map { folder.appendingPathComponent($0, isDirectory: true) }.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent(RunStore.fileName).path)
        }
    }

    /// `url` relative to the bench folder, when inside it.
    public func relative(_ url: URL) -> String {
        let path = url.standardized.path
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    public func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
    }

    /// The bench a user named: its folder, its bench.sqlite, or its name under `runsDirectory`
    /// (`bench-<name>` or `<name>`).
    public static func locate(_ reference: String, runsDirectory: URL) throws -> BenchFolder {
        let files = FileManager.default
        var candidates = [URL(fileURLWithPath: reference)]
        if !reference.contains("/") {
            candidates.append(runsDirectory.appendingPathComponent(reference))
            candidates.append(runsDirectory.appendingPathComponent("bench-" + reference))
        }
        for candidate in candidates {
            let folder = candidate.lastPathComponent == BenchIndex.fileName ? candidate.deletingLastPathComponent() : candidate
            if files.fileExists(atPath: folder.appendingPathComponent(BenchIndex.fileName).path) {
                return BenchFolder(root: folder)
            }
        }
        throw BenchError.noBench(reference: reference, lookedIn: candidates.map(\.path))
    }
}

/// What happened to a case, for progress lines.
public struct BenchCaseEvent: Sendable {
    public enum Kind: Sendable { case started, ended }
    public var kind: Kind
    public var benchCase: BenchCase
    /// The case's run was resumed rather than started.
    public var resumed: Bool
    public var status: BenchCaseStatus
    public var seconds: Double
    public var message: String?
    public var runFolder: URL?
}

/// How the bench starts a case in a process of its own: the command the CLI spells for "run case K
/// of this bench here" (`runHere`).
public struct BenchChild: Sendable {
    public var executable: URL
    public var arguments: @Sendable (BenchFolder, BenchCase) -> [String]

    public init(executable: URL, arguments: @escaping @Sendable (BenchFolder, BenchCase) -> [String]) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// Runs a bench's cases. `run(jobs:)` starts each case in a process of its own (a crashed run cannot
/// take the bench down, and a Slurm array element runs exactly the same), at most `jobs` at a time;
/// that process calls `runHere(caseIndex:)`, which starts or resumes the case's run through the
/// library and records it in the index.
///
/// Each child gets its own process group, and `interrupt()` sends it one SIGINT, whether the
/// bench's own SIGINT came from a terminal (which signals only the foreground group) or from `kill`:
/// the child marks its run interrupted and exits; the bench starts no new case.
public final class BenchRunner: Sendable {
    public let folder: BenchFolder
    public let config: BenchConfig
    let index: BenchIndex
    let child: BenchChild?
    private let state = Mutex<(stopping: Bool, children: Set<Int32>, run: SearchRun?)>((false, [], nil))

    /// `child` is needed by `run(jobs:)` only.
    public init(index: BenchIndex, child: BenchChild? = nil) throws {
        self.index = index
        self.folder = BenchFolder(root: index.folder)
        self.config = try index.config()
        self.child = child
    }

    /// This process's executable: /proc/self/exe where there is one, else argv[0] (on PATH if bare).
    public static func ownExecutable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"), path.hasPrefix("/") {
            return URL(fileURLWithPath: path)
        }
        let first = CommandLine.arguments.first ?? "aide"
        if first.contains("/") { return URL(fileURLWithPath: first).standardizedFileURL }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(first)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: first)
    }

    /// Stops starting cases and sends SIGINT to every running child (again on each call: a second
    /// SIGINT makes a child quit at once); a case running here finishes its steps in flight and stops.
    public func interrupt() {
        let (children, run) = state.withLock { state in
            state.stopping = true
            return (state.children, state.run)
        }
        for pid in children { kill(pid, SIGINT) }
        if let run { Task { await run.requestStop() } }
    }

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Runs every case not finished yet, `jobs` at a time. Returns false when interrupted.
    public func run(jobs: Int, onEvent: @escaping @Sendable (BenchCaseEvent) -> Void = { _ in }) async throws -> Bool {
        guard let child else { throw BenchError.noCaseStarter }
        try index.setStatus(.running)
        let records = try index.cases()
        let cases = config.cases
        let todo = records.filter { $0.status != .finished }.compactMap { record in
            cases.indices.contains(record.index) ? cases[record.index] : nil
        }
        await withTaskGroup(of: Void.self) { group in
            var pending = todo.makeIterator()
            var active = 0
            while true {
                while active < max(1, jobs), !isStopping, let next = pending.next() {
                    group.addTask { await self.runChild(next, child, onEvent: onEvent) }
                    active += 1
                }
                guard active > 0 else { break }
                await group.next()
                active -= 1
            }
        }
        let stopped = isStopping
        try index.setStatus(stopped ? .interrupted : .finished)
        return !stopped
    }

    /// Runs one case here, in this process (a child of `run(jobs:)`, or a Slurm array element):
    /// starts its run, or resumes the one it stopped, and records how it ended. Returns its status
    /// and the run's summary (nil when no run was made).
    public func runHere(
        caseIndex: Int, progress: @escaping @Sendable (RunProgress) -> Void = { _ in },
        onStart: @Sendable (SearchRun, _ resumed: Bool) -> Void = { _, _ in }
    ) async throws -> (status: BenchCaseStatus, summary: RunSummary?) {
        let cases = config.cases
        guard cases.indices.contains(caseIndex) else {
            throw BenchError.noCase(bench: config.name, count: cases.count, index: caseIndex)
        }
        let benchCase = cases[caseIndex]
        func end(_ status: BenchCaseStatus, exit: Int?, message: String?) -> BenchCaseStatus {
            let run = folder.existingRun(benchCase)
            try? index.markDone(
                benchCase.index, status: status, exitStatus: exit, runID: run?.lastPathComponent,
                runFolder: run.map(folder.relative), message: message)
            return status
        }
        var resume: URL?
        if let existing = folder.existingRun(benchCase) {
            switch Self.state(ofRun: existing) {
            case .finished:
                // Its bench was killed before recording it: not run again.
                return (end(.finished, exit: 0, message: nil), nil)
            case .resumable:
                resume = existing
            case .empty:
                // Stopped while it was being created, before its run was recorded: nothing to keep.
                do {
                    try FileManager.default.removeItem(at: existing)
                } catch {
                    return (end(.failed, exit: 1, message: "cannot remove the unstarted run \(existing.path): \(error)"), nil)
                }
            }
        }
        guard !isStopping else { return (end(.interrupted, exit: 130, message: "not started: the bench was interrupted"), nil) }
        try index.markRunning(benchCase.index, pid: getpid(), host: ProcessInfo.processInfo.hostName)
        let searchRun: SearchRun
        do {
            var options = config.run
            options.seed = benchCase.seed
            if let resume {
                searchRun = try SearchRun.resume(runFolder: resume, options: options.resumable, progress: progress)
            } else {
                let runs = folder.caseFolder(benchCase)
                try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
                searchRun = try SearchRun.start(
                    taskFile: URL(fileURLWithPath: benchCase.taskFile), options: options, runsDirectory: runs,
                    progress: progress)
            }
        } catch {
            return (end(.failed, exit: 1, message: ErrorText.line(error)), nil)
        }
        let stopping = state.withLock { state in
            state.run = searchRun
            return state.stopping
        }
        onStart(searchRun, resume != nil)
        if stopping { await searchRun.requestStop() }
        let summary = await searchRun.run()
        state.withLock { $0.run = nil }
        switch summary.status {
        case .finished: return (end(.finished, exit: 0, message: nil), summary)
        case .interrupted: return (end(.interrupted, exit: 130, message: "interrupted"), summary)
        case .failed, .running:
            return (end(.failed, exit: 1, message: summary.stopReason.map { "run \(summary.runID): failed (\($0))" }), summary)
        }
    }

    /// Runs the case in a child process, its output in the case's log, and records how it ended
    /// when the child could not (it was killed, or could not start). Never throws: what goes wrong
    /// is the case's status.
    @discardableResult
    func runChild(_ benchCase: BenchCase, _ child: BenchChild, onEvent: @escaping @Sendable (BenchCaseEvent) -> Void) async -> BenchCaseStatus {
        let caseFolder = folder.caseFolder(benchCase)
        let clock = ContinuousClock()
        let start = clock.now
        let resumed = folder.existingRun(benchCase).map { Self.state(ofRun: $0) == .resumable } ?? false
        func end(_ status: BenchCaseStatus, exit: Int?, message: String?) -> BenchCaseStatus {
            let run = folder.existingRun(benchCase)
            let recorded = try? index.benchCase(benchCase.index)
            var status = status
            var message = message
            if let recorded, recorded.status != .running, recorded.status != .pending, exit == recorded.exitStatus {
                // The child recorded its own ending: its words are the case's.
                status = recorded.status
                message = recorded.message ?? message
            } else {
                do {
                    try index.markDone(
                        benchCase.index, status: status, exitStatus: exit, runID: run?.lastPathComponent,
                        runFolder: run.map(folder.relative), message: message)
                } catch {
                    onEvent(BenchCaseEvent(
                        kind: .ended, benchCase: benchCase, resumed: resumed, status: .failed, seconds: 0,
                        message: "cannot record the case in the index: \(error)", runFolder: run))
                }
            }
            onEvent(BenchCaseEvent(
                kind: .ended, benchCase: benchCase, resumed: resumed, status: status,
                seconds: (clock.now - start).seconds, message: message, runFolder: run))
            return status
        }

        let arguments = child.arguments(folder, benchCase)
        let log: FileDescriptor
        do {
            try FileManager.default.createDirectory(at: caseFolder, withIntermediateDirectories: true)
            log = try FileDescriptor.open(
                FilePath(folder.log(benchCase).path), .writeOnly, options: [.create, .append],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
            let header = "# \(Date()) \(child.executable.path) \(arguments.joined(separator: " "))\n"
            _ = try log.writeAll(Array(header.utf8))
        } catch {
            return end(.failed, exit: nil, message: "cannot write \(folder.log(benchCase).path): \(error)")
        }
        guard !isStopping else {
            try? log.close()
            return end(.interrupted, exit: nil, message: "not started: the bench was interrupted")
        }

        var platformOptions = PlatformOptions()
        platformOptions.processGroupID = 0  // a group of its own: the bench decides who gets SIGINT
        let options = platformOptions
        let termination: TerminationStatus
        do {
            let result = try await Subprocess.run(
                .path(FilePath(child.executable.path)), arguments: Arguments(arguments), environment: .inherit,
                platformOptions: options, input: .none,
                output: .fileDescriptor(log, closeAfterSpawningProcess: true), error: .combinedWithOutput
            ) { execution in
                let pid = execution.processIdentifier.value
                let stopping = state.withLock { state in
                    state.children.insert(pid)
                    return state.stopping
                }
                if stopping { kill(pid, SIGINT) }
                onEvent(BenchCaseEvent(
                    kind: .started, benchCase: benchCase, resumed: resumed, status: .running, seconds: 0,
                    message: nil, runFolder: nil))
                return pid
            }
            state.withLock { _ = $0.children.remove(result.processIdentifier.value) }
            termination = result.terminationStatus
        } catch {
            return end(.failed, exit: nil, message: "cannot start \(child.executable.path): \(error)")
        }

        switch termination {
        case .exited(0):
            return end(.finished, exit: 0, message: nil)
        case .exited(130):
            return end(.interrupted, exit: 130, message: "interrupted")
        case .exited(let code):
            return end(.failed, exit: Int(code), message: Self.lastLine(of: folder.log(benchCase)) ?? "the case exited with status \(code)")
        case .signaled(let signal):
            let message = "the case was killed by signal \(signal)"
            return end(signal == SIGINT ? .interrupted : .failed, exit: 128 + Int(signal), message: message)
        }
    }

    enum RunState { case finished, resumable, empty }

    /// Whether a case's run folder holds a finished run, one to resume, or no run at all (its
    /// process was stopped while creating it).
    static func state(ofRun folder: URL) -> RunState {
        let store: RunStore
        do {
            store = try RunStore.openReadOnly(path: folder.appendingPathComponent(RunStore.fileName))
        } catch StoreError.notAnAideRun {
            return .empty
        } catch {
            return .resumable  // resuming it says what is wrong with it
        }
        defer { try? store.close() }
        do {
            guard let run = try store.run() else { return .empty }
            return run.status == .finished ? .finished : .resumable
        } catch {
            return .resumable
        }
    }

    /// The last line of a log that says what went wrong: an `Error:` line, else the run's
    /// `run <id>: failed (…)` line (a replay miss, a failed step), else the last line.
    static func lastLine(of log: URL) -> String? {
        guard let data = try? Data(contentsOf: log) else { return nil }
        let lines = String(decoding: data.suffix(64 * 1024), as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("# ") }
        let found = lines.last { $0.hasPrefix("Error") }
            ?? lines.last { $0.hasPrefix("run ") && $0.contains(": failed (") } ?? lines.last
        guard let line = found else { return nil }
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
