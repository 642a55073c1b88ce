import Foundation
import Subprocess
import SystemPackage

/// What Slurm says about one job.
public struct SlurmJobRecord: Sendable, Hashable {
    public var id: String
    /// `JobState`: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, …
    public var state: String
    /// `ExitCode`, `status:signal`.
    public var exitCode: String?
    /// `Reason`: why pending, or why it ended (`TimeLimit`, `NodeDown`, …); nil for `None`.
    public var reason: String?
    /// The node it ran on.
    public var node: String?
    public var submitted: Date?
    public var started: Date?
    public var ended: Date?

    public init(
        id: String, state: String, exitCode: String? = nil, reason: String? = nil, node: String? = nil,
        submitted: Date? = nil, started: Date? = nil, ended: Date? = nil
    ) {
        self.id = id
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.node = node
        self.submitted = submitted
        self.started = started
        self.ended = ended
    }

    /// The job will not run (any more): it ended, one way or another.
    public var isFinished: Bool { !Self.activeStates.contains(state) }

    /// States of a job that is waiting, running or being cleaned up.
    public static let activeStates: Set<String> = [
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
        "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
    ]
}

/// A job of this user in the queue, as `squeue` lists it.
public struct SlurmQueuedJob: Sendable, Hashable {
    public var id: String
    public var name: String
    public var state: String
    public init(id: String, name: String, state: String) {
        self.id = id
        self.name = name
        self.state = state
    }
}

/// Why Slurm could not be asked something.
public enum SlurmError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The run folder is on a filesystem only this machine mounts: the compute nodes cannot see it.
    case localRunFolder(path: String, filesystem: String)
    /// A Slurm command `exec.backend: slurm` needs is not on PATH.
    case notInstalled(command: String)
    /// The controller does not answer `sinfo` (its first line of output); `checkingBackend`: when
    /// checking `exec.backend: slurm` before a run.
    case noController(output: String, checkingBackend: Bool)
    /// `exec.slurm.partition` names no partition of the cluster; or is unset, and there is no default.
    case noPartition(String, partitions: [String])
    case noDefaultPartition(partitions: [String])
    /// sbatch refused a job (its first line of output).
    case submitRefused(output: String)
    /// A Slurm command exited with failure (its first line of output).
    case commandFailed(command: String, output: String)
    /// A Slurm command did not answer within `seconds`.
    case noAnswer(command: String, seconds: Int)
    /// A Slurm command cannot be started (the subprocess error's words).
    case cannotRun(command: String, reason: String)

    public var description: String {
        switch self {
        case .localRunFolder(let path, let filesystem):
            return "the run folder \(path) is on a local filesystem (\(filesystem)) the compute nodes cannot see; "
                + "put the runs on a shared filesystem, or set exec.slurm.shared_filesystem: true if the nodes do see it"
        case .notInstalled(let command):
            return "exec.backend is slurm, but \(command) is not on PATH (install Slurm's client commands, or run aide on the cluster's login node)"
        case .noController(let output, let checkingBackend):
            return (checkingBackend ? "exec.backend is slurm, but " : "") + "sinfo does not answer: \(output)"
        case .noPartition(let partition, let partitions):
            return "exec.slurm.partition: the cluster has no partition \"\(partition)\" (it has: \(partitions.joined(separator: ", ")))"
        case .noDefaultPartition(let partitions):
            return "exec.slurm.partition is not set and the cluster has no default partition (it has: \(partitions.joined(separator: ", ")))"
        case .submitRefused(let output): return "sbatch refused the job: \(output)"
        case .commandFailed(let command, let output): return "\(command) failed: \(output)"
        case .noAnswer(let command, let seconds): return "\(command) did not answer within \(seconds) s"
        case .cannotRun(let command, let reason): return "cannot run \(command): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// The calls aide makes to a Slurm controller. `SlurmCommands` makes them with Slurm's own
/// command-line tools; tests use an in-memory one.
public protocol SlurmControl: Sendable {
    /// Submits the job script at `script`; the job id.
    func submit(script: URL) async throws -> String
    /// What the controller (or, once it forgot the job, the accounting) says about `job`; nil when
    /// neither knows it.
    func record(of job: String) async throws -> SlurmJobRecord?
    /// Cancels `jobs`; jobs already gone are no error. Synchronous, so a cancellation handler can
    /// call it and know it was sent.
    func cancel(_ jobs: [String])
    /// This user's jobs still in the queue (pending, running or completing).
    func queuedJobs() async throws -> [SlurmQueuedJob]
    /// The partitions, the default one marked.
    func partitions() async throws -> [(name: String, isDefault: Bool)]
}

/// `SlurmControl` through `sbatch`, `scontrol`, `sacct`, `squeue`, `scancel` and `sinfo` found on
/// `PATH` (with `SLURM_CONF` and the rest of this process's environment).
public struct SlurmCommands: SlurmControl {
    public init() {}

    public func submit(script: URL) async throws -> String {
        let (ok, output, error) = try await run("sbatch", ["--parsable", script.path])
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let id = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
        guard ok, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SlurmError.submitRefused(output: Self.firstLine(error.isEmpty ? output : error))
        }
        return id
    }

    public func record(of job: String) async throws -> SlurmJobRecord? {
        let (ok, output, error) = try await run("scontrol", ["show", "job", "-o", job])
        if ok, let line = output.split(separator: "\n").first(where: { $0.hasPrefix("JobId=") }) {
            return Self.parseScontrol(String(line))
        }
        // Purged from the controller (older than MinJobAge): the accounting may still know it.
        guard !ok, error.contains("Invalid job id") || output.contains("Invalid job id") else {
            if ok { return nil }
            throw SlurmError.commandFailed(command: "scontrol show job \(job)", output: Self.firstLine(error))
        }
        let sacct = try? await run(
            "sacct", ["-n", "-P", "-X", "-j", job, "-o", "JobID,State,ExitCode,NodeList,Submit,Start,End,Reason"])
        guard let sacct, sacct.ok, let line = sacct.output.split(separator: "\n").first else { return nil }
        return Self.parseSacct(String(line))
    }

    public func cancel(_ jobs: [String]) {
        guard !jobs.isEmpty else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["scancel"] + jobs
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }

    public func queuedJobs() async throws -> [SlurmQueuedJob] {
        let (ok, output, error) = try await run("squeue", ["-h", "--me", "-o", "%i|%j|%T"])
        guard ok else { throw SlurmError.commandFailed(command: "squeue", output: Self.firstLine(error)) }
        return output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { return nil }
            return SlurmQueuedJob(id: parts[0], name: parts[1], state: parts[2])
        }
    }

    public func partitions() async throws -> [(name: String, isDefault: Bool)] {
        let (ok, output, error) = try await run("sinfo", ["-h", "-o", "%P"])
        guard ok else { throw SlurmError.noController(output: Self.firstLine(error.isEmpty ? output : error), checkingBackend: false) }
        var seen: [(String, Bool)] = []
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            let isDefault = text.hasSuffix("*")
            let name = isDefault ? String(text.dropLast()) : text
            if !name.isEmpty, !seen.contains(where: { $0.0 == name }) { seen.append((name, isDefault)) }
        }
        return seen
    }

    /// Runs one Slurm command to its end, within a minute (a controller that does not answer is an error).
    func run(_ command: String, _ arguments: [String]) async throws -> (ok: Bool, output: String, error: String) {
        do {
            return try await withThrowingTaskGroup(of: (Bool, String, String)?.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        .name(command), arguments: Arguments(arguments), environment: .inherit,
                        output: .string(limit: 1 << 20), error: .string(limit: 64 * 1024))
                    if case .exited(0) = result.terminationStatus {
                        return (true, result.standardOutput, result.standardError)
                    }
                    return (false, result.standardOutput, result.standardError)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                guard let first = try await group.next(), let answer = first else {
                    group.cancelAll()
                    throw SlurmError.noAnswer(command: command, seconds: 60)
                }
                group.cancelAll()
                return answer
            }
        } catch let error as SubprocessError {
            throw SlurmError.cannotRun(command: command, reason: "\(error)")
        }
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.trimmingCharacters(in: .whitespaces).isEmpty ? "no message" : line.trimmingCharacters(in: .whitespaces)
    }

    /// `scontrol show job -o` prints one line of `Key=Value` pairs.
    static func parseScontrol(_ line: String) -> SlurmJobRecord? {
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = String(pair[..<equals])
            if fields[key] == nil { fields[key] = String(pair[pair.index(after: equals)...]) }
        }
        guard let id = fields["JobId"], let state = fields["JobState"] else { return nil }
        return SlurmJobRecord(
            id: id, state: state, exitCode: fields["ExitCode"], reason: fields["Reason"].flatMap { $0 == "None" ? nil : $0 },
            node: fields["BatchHost"].flatMap { $0 == "(null)" ? nil : $0 } ?? fields["NodeList"].flatMap { $0 == "(null)" ? nil : $0 },
            submitted: date(fields["SubmitTime"]), started: date(fields["StartTime"]), ended: date(fields["EndTime"]))
    }

    /// `sacct -P -o JobID,State,ExitCode,NodeList,Submit,Start,End,Reason`; sacct writes `CANCELLED by 0`.
    static func parseSacct(_ line: String) -> SlurmJobRecord? {
        let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 8 else { return nil }
        let state = parts[1].split(separator: " ").first.map(String.init) ?? parts[1]
        return SlurmJobRecord(
            id: parts[0], state: state, exitCode: parts[2], reason: parts[7] == "None" ? nil : parts[7],
            node: parts[3].isEmpty || parts[3] == "None assigned" ? nil : parts[3],
            submitted: date(parts[4]), started: date(parts[5]), ended: date(parts[6]))
    }

    /// Slurm's local time stamps (`2026-12-01T14:41:55`); nil for `Unknown`, `None` or empty.
    static func date(_ text: String?) -> Date? {
        guard let text, text.count == 19 else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.date(from: text)
    }
}
