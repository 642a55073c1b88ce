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

    /// Where a case's run is made (its `--runs-dir`) and its output log kept.
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
        throw BenchError("no bench \(reference) (a bench folder holds \(BenchIndex.fileName); looked in \(candidates.map(\.path).joined(separator: ", ")))")
    }
}

/// What happened to a case, for progress lines.
public struct BenchCaseEvent: Sendable {
    public enum Kind: Sendable { case started, ended }
    public var kind: Kind
    public var benchCase: BenchCase
    /// `aide run --resume` rather than a new run.
    public var resumed: Bool
    public var status: BenchCaseStatus
    public var seconds: Double
    public var message: String?
    public var runFolder: URL?
}

/// Runs a bench's cases, each as `aide run` in a process of its own (a crashed run cannot take the
/// bench down, and a Slurm array element runs exactly the same), at most `jobs` at a time.
///
/// Each child gets its own process group, and `interrupt()` sends it one SIGINT, whether the
/// bench's own SIGINT came from a terminal (which signals only the foreground group) or from `kill`:
/// the child marks its run interrupted and exits; the bench starts no new case.
public final class BenchRunner: Sendable {
    public let folder: BenchFolder
    public let config: BenchConfig
    let index: BenchIndex
    let executable: URL
    private let state = Mutex<(stopping: Bool, children: Set<Int32>)>((false, []))

    public init(index: BenchIndex, executable: URL) throws {
        self.index = index
        self.folder = BenchFolder(root: index.folder)
        self.config = try index.config()
        self.executable = executable
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

    /// Stops starting cases and sends SIGINT to every running one (again on each call: a second
    /// SIGINT makes `aide run` quit at once).
    public func interrupt() {
        let children = state.withLock { state in
            state.stopping = true
            return state.children
        }
        for pid in children { kill(pid, SIGINT) }
    }

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Runs every case not finished yet, `jobs` at a time. Returns false when interrupted.
    public func run(jobs: Int, onEvent: @escaping @Sendable (BenchCaseEvent) -> Void = { _ in }) async throws -> Bool {
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
                    group.addTask { await self.runCase(next, onEvent: onEvent) }
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

    /// Runs one case by its index (a Slurm array element). Returns its status.
    public func run(caseIndex: Int, onEvent: @escaping @Sendable (BenchCaseEvent) -> Void = { _ in }) async throws -> BenchCaseStatus {
        let cases = config.cases
        guard cases.indices.contains(caseIndex) else {
            throw BenchError("bench \(config.name) has cases 0...\(cases.count - 1), not \(caseIndex)")
        }
        return await runCase(cases[caseIndex], onEvent: onEvent)
    }

    /// Starts or resumes the case's run and records how it ended. Never throws: what goes wrong is the case's status.
    @discardableResult
    func runCase(_ benchCase: BenchCase, onEvent: @escaping @Sendable (BenchCaseEvent) -> Void) async -> BenchCaseStatus {
        let caseFolder = folder.caseFolder(benchCase)
        let clock = ContinuousClock()
        let start = clock.now
        let existing = folder.existingRun(benchCase)
        func end(_ status: BenchCaseStatus, exit: Int?, message: String?) -> BenchCaseStatus {
            let run = folder.existingRun(benchCase)
            do {
                try index.markDone(
                    benchCase.index, status: status, exitStatus: exit, runID: run?.lastPathComponent,
                    runFolder: run.map(folder.relative), message: message)
            } catch {
                onEvent(BenchCaseEvent(
                    kind: .ended, benchCase: benchCase, resumed: false, status: .failed, seconds: 0,
                    message: "cannot record the case in the index: \(error)", runFolder: run))
            }
            onEvent(BenchCaseEvent(
                kind: .ended, benchCase: benchCase, resumed: false, status: status,
                seconds: (clock.now - start).seconds, message: message, runFolder: run))
            return status
        }

        var arguments = config.run.startArguments(taskFile: benchCase.taskFile, seed: benchCase.seed, runsDirectory: caseFolder.path)
        if let existing {
            switch Self.state(ofRun: existing) {
            case .finished:
                // Its bench was killed before recording it: not run again.
                return end(.finished, exit: 0, message: nil)
            case .resumable:
                arguments = config.run.resumeArguments(runFolder: existing.path)
            case .empty:
                // Stopped while it was being created, before its run was recorded: nothing to keep.
                do {
                    try FileManager.default.removeItem(at: existing)
                } catch {
                    return end(.failed, exit: nil, message: "cannot remove the unstarted run \(existing.path): \(error)")
                }
            }
        }
        let resumed = arguments.contains("--resume")

        let log: FileDescriptor
        do {
            try FileManager.default.createDirectory(at: caseFolder, withIntermediateDirectories: true)
            log = try FileDescriptor.open(
                FilePath(folder.log(benchCase).path), .writeOnly, options: [.create, .append],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
            let header = "# \(Date()) \(executable.path) \(arguments.joined(separator: " "))\n"
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
        let host = ProcessInfo.processInfo.hostName
        let termination: TerminationStatus
        do {
            let result = try await Subprocess.run(
                .path(FilePath(executable.path)), arguments: Arguments(arguments), environment: .inherit,
                platformOptions: options, input: .none,
                output: .fileDescriptor(log, closeAfterSpawningProcess: true), error: .combinedWithOutput
            ) { execution in
                let pid = execution.processIdentifier.value
                let stopping = state.withLock { state in
                    state.children.insert(pid)
                    return state.stopping
                }
                if stopping { kill(pid, SIGINT) }
                try? index.markRunning(benchCase.index, pid: pid, host: host)
                onEvent(BenchCaseEvent(
                    kind: .started, benchCase: benchCase, resumed: resumed, status: .running, seconds: 0,
                    message: nil, runFolder: nil))
                return pid
            }
            state.withLock { _ = $0.children.remove(result.processIdentifier.value) }
            termination = result.terminationStatus
        } catch {
            return end(.failed, exit: nil, message: "cannot start \(executable.path): \(error)")
        }

        switch termination {
        case .exited(0):
            return end(.finished, exit: 0, message: nil)
        case .exited(130):
            return end(.interrupted, exit: 130, message: "interrupted")
        case .exited(let code):
            return end(.failed, exit: Int(code), message: Self.lastLine(of: folder.log(benchCase)) ?? "aide run exited with status \(code)")
        case .signaled(let signal):
            let message = "aide run was killed by signal \(signal)"
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
            return .resumable  // `aide run --resume` says what is wrong with it
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
