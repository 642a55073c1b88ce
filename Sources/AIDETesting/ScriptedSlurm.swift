import AIDE
import Foundation
import Synchronization

/// How a `ScriptedSlurm` job goes.
public enum ScriptedJobOutcome: Sendable, Hashable {
    /// The job script runs (with bash, here, at once) and the job ends COMPLETED or FAILED by its status.
    case run
    /// Slurm ends the job in `state` (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, …) before the script ends:
    /// the job script writes its start only.
    case ended(state: String, exitCode: String, reason: String?)
    /// The job stays RUNNING until cancelled.
    case hang
}

/// An in-memory `SlurmControl`: submissions get ids from 100 on, each job goes as `plan` says
/// (by submission number, from 0), and every call is counted. A job that runs runs its job script
/// with `/bin/bash` in its `--chdir` folder, as slurmd would, so the interpreter reads real files.
public final class ScriptedSlurm: SlurmControl {
    private struct Job {
        var id: String
        var name: String
        var state: String
        var exitCode: String?
        var reason: String?
    }
    private struct State {
        var jobs: [Job] = []
        var cancelled: [String] = []
        var questions = 0
        var leftovers: [SlurmQueuedJob] = []
        var submitWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var asked: Set<String> = []
        var questionWaiters: [(job: String, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())
    private let plan: @Sendable (Int) -> ScriptedJobOutcome

    public init(plan: @escaping @Sendable (Int) -> ScriptedJobOutcome = { _ in .run }) {
        self.plan = plan
    }

    /// Jobs of an earlier aide, in the queue before this one starts.
    public func addLeftover(_ job: SlurmQueuedJob) { state.withLock { $0.leftovers.append(job) } }

    /// Job ids submitted, in order.
    public var submitted: [String] { state.withLock { $0.jobs.map(\.id) } }
    /// Job names submitted, in order.
    public var names: [String] { state.withLock { $0.jobs.map(\.name) } }
    /// Job ids cancelled, in order.
    public var cancelled: [String] { state.withLock { $0.cancelled } }
    /// Times the controller was asked about a job.
    public var questions: Int { state.withLock { $0.questions } }

    /// Returns once `count` jobs have been submitted (an event, not a sleep).
    public func waitForSubmissions(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.jobs.count >= count { return true }
                state.submitWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once the controller has been asked about `job` (an event: the interpreter asks only
    /// once the job is submitted and recorded as its step's).
    public func waitForQuestion(about job: String) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.asked.contains(job) { return true }
                state.questionWaiters.append((job, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func submit(script: URL) async throws -> String {
        let text = try String(contentsOf: script, encoding: .utf8)
        func option(_ name: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("#SBATCH --\(name)=") }
                .map { String($0.dropFirst("#SBATCH --\(name)=".count)) }
        }
        let (number, id) = state.withLock { state in (state.jobs.count, "\(100 + state.jobs.count)") }
        let outcome = plan(number)
        var job = Job(id: id, name: option("job-name") ?? "", state: "RUNNING")
        let folder = URL(fileURLWithPath: option("chdir") ?? "/")
        switch outcome {
        case .run:
            let status = try Self.bash(text, job: id, in: folder, startOnly: false)
            job.state = status == 0 ? "COMPLETED" : "FAILED"
            job.exitCode = "\(status):0"
        case .ended(let state, let exitCode, let reason):
            _ = try Self.bash(text, job: id, in: folder, startOnly: true)
            job.state = state
            job.exitCode = exitCode
            job.reason = reason
        case .hang:
            _ = try Self.bash(text, job: id, in: folder, startOnly: true)
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.jobs.append(job)
            let count = state.jobs.count
            let ready = state.submitWaiters.filter { $0.count <= count }.map(\.continuation)
            state.submitWaiters.removeAll { $0.count <= count }
            return ready
        }
        for waiter in waiters { waiter.resume() }
        return id
    }

    public func record(of job: String) async throws -> SlurmJobRecord? {
        let (record, waiters) = state.withLock { state -> (SlurmJobRecord?, [CheckedContinuation<Void, Never>]) in
            state.questions += 1
            state.asked.insert(job)
            let waiters = state.questionWaiters.filter { $0.job == job }.map(\.continuation)
            state.questionWaiters.removeAll { $0.job == job }
            guard let found = state.jobs.first(where: { $0.id == job }) else { return (nil, waiters) }
            return (
                SlurmJobRecord(id: found.id, state: found.state, exitCode: found.exitCode, reason: found.reason, node: "fake-node"),
                waiters
            )
        }
        for waiter in waiters { waiter.resume() }
        return record
    }

    public func cancel(_ jobs: [String]) {
        state.withLock { state in
            state.cancelled += jobs
            for index in state.jobs.indices where jobs.contains(state.jobs[index].id) && !["COMPLETED", "FAILED"].contains(state.jobs[index].state) {
                state.jobs[index].state = "CANCELLED"
            }
            state.leftovers.removeAll { jobs.contains($0.id) }
        }
    }

    public func queuedJobs() async throws -> [SlurmQueuedJob] {
        state.withLock { state in
            state.leftovers + state.jobs.filter { $0.state == "RUNNING" }.map { SlurmQueuedJob(id: $0.id, name: $0.name, state: $0.state) }
        }
    }

    public func partitions() async throws -> [(name: String, isDefault: Bool)] { [("debug", true)] }

    /// Runs the job script as slurmd would (its folder, `SLURM_JOB_ID`); with `startOnly`, only up to
    /// the line that writes the start, as a job Slurm ends before the script does.
    private static func bash(_ script: String, job: String, in folder: URL, startOnly: Bool) throws -> Int32 {
        var text = script
        if startOnly, let start = script.range(of: "> \"$status\"\n") {
            text = String(script[..<start.upperBound])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", text]
        process.currentDirectoryURL = folder
        process.environment = ["SLURM_JOB_ID": job, "SLURMD_NODENAME": "fake-node", "PATH": "/usr/bin:/bin"]
        let output = script.split(separator: "\n").first { $0.hasPrefix("#SBATCH --output=") }
            .map { String($0.dropFirst("#SBATCH --output=".count)).replacingOccurrences(of: "%j", with: job) }
        if let output {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let handle = FileHandle(forWritingAtPath: output)
            process.standardOutput = handle
            process.standardError = handle
        }
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
