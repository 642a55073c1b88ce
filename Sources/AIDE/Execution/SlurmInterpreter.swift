import Foundation
import Synchronization

/// Runs each solution script as one Slurm job: the same command as `PythonInterpreter` runs
/// locally (bubblewrap, limits, allowed environment), written into a job script and submitted with
/// `sbatch --parsable`, in the node folder on the shared filesystem the run folder sits on.
///
/// The job writes its start (time, node) and its end (exit status, time) to a status file next to
/// its output, in the run's `slurm/` folder, which the sandbox does not see. A script that ends is
/// noticed from that file, without asking the controller; the controller is asked at a backed-off
/// interval (2 s, doubling to 30 s) for the jobs Slurm itself ends (time limit, memory, node
/// failure, preemption, cancellation). NODE_FAIL and PREEMPTED are submitted again, once.
/// Cancelling the calling task cancels the job (`scancel`). Each job's id is kept next to its
/// script (`SlurmJobPointer`), so a resumed run takes over the jobs a killed aide left (`adopt`);
/// the first script of a run cancels the run's other jobs still in the queue.
public struct SlurmInterpreter: Interpreter {
    /// What runs inside the job, exactly as it would run here.
    public var local: PythonInterpreter
    /// sbatch options every job carries (`exec.slurm`), before the script timeout's.
    public var exec: ExecSpec
    public var control: any SlurmControl
    /// Seconds between looks at the status file: from `first`, growing to `maximum`.
    public var fileChecks: (first: Double, maximum: Double) = (0.2, 2)
    /// Seconds between questions to the controller: from `first`, doubling to `maximum`.
    public var controllerChecks: (first: Double, maximum: Double) = (2, 30)
    let book = SlurmJobBook()

    public init(local: PythonInterpreter, exec: ExecSpec, control: any SlurmControl = SlurmCommands()) {
        self.local = local
        // The GPUs a job may use are its compute node's (Slurm gives it some with `gres`): the job
        // finds their device nodes there; the head node's, if it has any, mean nothing to it.
        self.local.sandbox?.devicesWhereRun = exec.gpus != .none
        self.local.sandbox?.devices = []
        self.exec = exec
        self.control = control
    }

    public var isolation: String? { "slurm job, " + (local.isolation ?? "none") }

    /// A job runs on whether aide lives or not.
    public var scriptsOutliveProcess: Bool { true }

    /// Jobs submitted and not yet ended.
    public var jobsInFlight: [String] { book.inFlight }

    /// The job name of a run's step: the run id and the step, so a later aide finds it.
    public static func jobName(runID: String, step: Int) -> String { "aide-\(runID)-s\(step)" }

    /// The step of a job named by `jobName(runID:step:)` for this run; nil for any other name.
    public static func step(ofJob name: String, runID: String) -> Int? {
        let prefix = "aide-\(runID)-s"
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard !rest.isEmpty, rest.allSatisfy(\.isNumber) else { return nil }
        return Int(rest)
    }

    public func run(script: String, in directory: URL, timeout: Double) async throws -> ExecutionResult {
        guard timeout > 0 else { throw PythonInterpreterError.invalidSetting("timeout must be positive, not \(timeout)") }
        // runs/<run-id>/nodes/<step>-<node>/
        let runFolder = directory.deletingLastPathComponent().deletingLastPathComponent()
        let runID = runFolder.lastPathComponent
        let folderName = directory.lastPathComponent
        let step = Int(folderName.prefix { $0.isNumber }) ?? 0
        try await book.sweep(runID: runID, jobs: runFolder.appendingPathComponent("slurm", isDirectory: true), control: control)

        let python = try local.sandbox?.python ?? local.resolvedPython()
        try local.write(script, in: directory)
        let (executable, arguments) = try local.command(python: python, in: directory)
        var variables = local.scriptVariables()
        if let sandbox = local.sandbox {
            variables = sandbox.environment(variables)
            do { try sandbox.prepare(folder: directory) } catch {
                throw PythonInterpreterError.launchFailed(executable: executable, reason: "\(error)")
            }
        }
        let jobs = runFolder.appendingPathComponent("slurm", isDirectory: true)
        let file = SlurmJobFiles(folder: jobs, name: folderName)
        do {
            try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
            let text = jobScript(
                name: Self.jobName(runID: runID, step: step), comment: "aide:run=\(runID):step=\(step)", files: file,
                directory: directory, timeout: timeout, environment: variables, command: [executable] + arguments)
            try Data(text.utf8).write(to: file.script, options: .atomic)
        } catch {
            throw PythonInterpreterError.cannotWriteScript(path: file.script.path, reason: ErrorText.reason(error))
        }

        return try await follow(files: file, directory: directory, timeout: timeout, adopting: nil)
    }

    /// Takes over the job a stopped aide submitted for the script in `directory` (its pointer names
    /// it): waits for it if it is still queued or running, and reads its result as `run` would have.
    /// Nil when no job was submitted, or aide cancelled it.
    public func adopt(in directory: URL) async throws -> ExecutionResult? {
        let runFolder = directory.deletingLastPathComponent().deletingLastPathComponent()
        let file = SlurmJobFiles(folder: runFolder.appendingPathComponent("slurm", isDirectory: true), name: directory.lastPathComponent)
        guard let pointer = SlurmJobPointer.read(file.pointer) else { return nil }
        FileHandle.standardError.write(Data(
            "[slurm] taking over job \(pointer.job) of \(directory.lastPathComponent), left by a stopped aide\n".utf8))
        return try await follow(files: file, directory: directory, timeout: pointer.timeout, adopting: pointer)
    }

    /// Submits the job script (or follows the job `adopting` names), waits for its end, submits it
    /// once more after NODE_FAIL or PREEMPTED, and reads the result.
    func follow(files file: SlurmJobFiles, directory: URL, timeout: Double, adopting: SlurmJobPointer?) async throws
        -> ExecutionResult
    {
        var attempt = adopting?.attempt ?? 1
        var adopting = adopting
        while true {
            let job: String
            let submitted: Date
            if let pointer = adopting {
                (job, submitted) = (pointer.job, pointer.submitted)
                adopting = nil
            } else {
                submitted = Date()
                do { job = try await control.submit(script: file.script) } catch {
                    throw PythonInterpreterError.launchFailed(executable: "sbatch", reason: "\(error)")
                }
                // Written before anything else can fail: a killed aide's successor finds the job by it.
                SlurmJobPointer(job: job, submitted: submitted, attempt: attempt, timeout: timeout).write(to: file.pointer)
            }
            book.started(job)
            defer { book.ended(job) }
            let control = control
            let ended: (SlurmJobRecord?, SlurmJobStatus)
            do {
                ended = try await withTaskCancellationHandler {
                    try await wait(for: job, files: file)
                } onCancel: {
                    control.cancel([job])
                }
                // Cancelled while asking Slurm: the job's CANCELLED is our own scancel, not the script's end.
                try Task.checkCancellation()
            } catch {
                // aide cancelled the job: there is no result for a resumed run to take over.
                if Task.isCancelled || error is CancellationError { try? FileManager.default.removeItem(at: file.pointer) }
                throw error
            }
            let (record, status) = ended
            if status.exitCode == nil, let record, Self.retried.contains(record.state), attempt == 1 {
                attempt += 1
                continue
            }
            return result(
                job: job, record: record, status: status, files: file, directory: directory, timeout: timeout,
                submitted: submitted, attempts: attempt)
        }
    }

    /// States a job is submitted again after, once: the script is not to blame.
    static let retried: Set<String> = ["NODE_FAIL", "PREEMPTED"]

    /// Waits until the job's status file has its end, or Slurm says the job ended.
    func wait(for job: String, files: SlurmJobFiles) async throws -> (SlurmJobRecord?, SlurmJobStatus) {
        let clock = ContinuousClock()
        var fileDelay = fileChecks.first
        var controllerDelay = controllerChecks.first
        var nextQuestion = clock.now + .seconds(controllerDelay)
        var unknown = 0
        while true {
            try Task.checkCancellation()
            let status = SlurmJobStatus.read(files.status(job))
            if status.exitCode != nil { return (nil, status) }
            if clock.now >= nextQuestion {
                if let record = try? await control.record(of: job) {
                    if record.isFinished {
                        // The end line may have been written just before the job ended.
                        return (record, SlurmJobStatus.read(files.status(job)))
                    }
                } else {
                    // Neither controller nor accounting knows it (or they did not answer): after a
                    // few tries in a row the job is taken as gone.
                    unknown += 1
                    if unknown >= 5 { return (nil, SlurmJobStatus.read(files.status(job))) }
                }
                controllerDelay = min(controllerDelay * 2, controllerChecks.maximum)
                nextQuestion = clock.now + .seconds(controllerDelay)
            }
            try await Task.sleep(for: .seconds(fileDelay))
            fileDelay = min(fileDelay * 1.5, fileChecks.maximum)
        }
    }

    /// The job script: sbatch's options, then the script's command as it runs locally, with its
    /// environment given whole (`--export=NONE`), the script timeout enforced by `timeout`, and the
    /// start and end written to the status file.
    func jobScript(
        name: String, comment: String, files: SlurmJobFiles, directory: URL, timeout: Double,
        environment: [String: String], command: [String]
    ) -> String {
        let q = SlurmJob.quote
        var lines = [
            "#!/bin/bash",
            "# Written by aide run for \(comment); submitted with sbatch --parsable.",
            "#SBATCH --job-name=\(name)",
            "#SBATCH --comment=\(comment)",
            "#SBATCH --output=\(files.output(job: "%j").path)",
            "#SBATCH --chdir=\(directory.path)",
            "#SBATCH --ntasks=1",
            "#SBATCH --no-requeue",
            "#SBATCH --export=NONE",
        ]
        lines += exec.sbatchOptions(scriptTimeout: timeout).map { "#SBATCH \($0)" }
        lines.append("export PATH=/usr/local/bin:/usr/bin:/bin")
        lines.append("status=\(q(files.folder.appendingPathComponent(files.name + "-").path))\"$SLURM_JOB_ID\".status")
        lines.append("echo \"start $(date +%s.%N) ${SLURMD_NODENAME:-$(hostname -s)}\" > \"$status\"")
        let variables = environment.sorted { $0.key < $1.key }.map { q("\($0.key)=\($0.value)") }
        // Slurm sets CUDA_VISIBLE_DEVICES for a job with GPUs (`gres: gpu:1`): it passes through.
        let gpus = "${CUDA_VISIBLE_DEVICES+\"CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES\"}"
        // The sandbox's GPU binds are the compute node's, found by the job there.
        let words = command.map { $0 == Sandbox.deviceBindsWord ? $0 : q($0) }
        if command.contains(Sandbox.deviceBindsWord) { lines.append(Sandbox.deviceBindsScript()) }
        var run = ["env", "-i"] + variables + [gpus] + words
        // `timeout` runs the script in a process group of its own, which the disk watch kills.
        if timeout < 1e8 { run = ["timeout", "-s", "KILL", String(format: "%.3f", timeout)] + run }
        if let cap = local.diskCap {
            // exec.max_disk_mb, kept on the node while the script runs (locally aide keeps it).
            lines.append(run.joined(separator: " ") + " </dev/null 2>&1 &")
            lines.append("script=$!")
            lines.append(cap.watchScript(folder: directory.path, process: "script", status: "status"))
            lines.append("wait \"$script\"")
            lines.append("code=$?")
            lines.append("kill \"$disk_watch\" 2>/dev/null; wait \"$disk_watch\"")
        } else {
            lines.append(run.joined(separator: " ") + " </dev/null 2>&1")
            lines.append("code=$?")
        }
        lines.append("echo \"exit $code $(date +%s.%N)\" >> \"$status\"")
        lines.append("exit $code")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The node's execution: from the status file when the script ended on its own, else from what
    /// Slurm says ended the job.
    func result(
        job: String, record: SlurmJobRecord?, status: SlurmJobStatus, files: SlurmJobFiles, directory: URL,
        timeout: Double, submitted: Date, attempts: Int
    ) -> ExecutionResult {
        var buffer = OutputBuffer(limit: local.outputLimit)
        if let handle = try? FileHandle(forReadingFrom: files.output(job: job)) {
            while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                chunk.withUnsafeBytes { buffer.append($0) }
            }
            try? handle.close()
        }
        var output = PythonInterpreter.cleanedOutput(buffer.text, directory: directory)
        let started = status.started ?? record?.started
        let ended = status.ended ?? record?.ended
        let duration = max(0, started.flatMap { start in ended.map { $0.timeIntervalSince(start) } } ?? 0)
        var placement = ScriptPlacement(
            jobID: job, node: status.node ?? record?.node, queueWait: started.map { max(0, $0.timeIntervalSince(submitted)) },
            state: record?.state ?? (status.exitCode == 0 ? "COMPLETED" : "FAILED"), attempts: attempts)
        var result = ExecutionResult(output: output, outputBytes: buffer.totalBytes, exitCode: nil, duration: duration)

        if let stopped = status.stopped {
            // The job's disk watch stopped the script (exec.max_disk_mb): as locally, what it
            // wrote is removed, so the shared disk is given back.
            result.stoppedBecause = stopped
            result.signal = 9
            DiskCap.cleanUp(directory)
        } else if let code = status.exitCode {
            // The script ended (or `timeout` ended it): its status, read as locally.
            if code == 137, duration >= timeout - 1 {
                result.timedOut = true
                result.exceptionType = "TimeoutError"
            } else if local.sandbox != nil, code > 128, code < 128 + 65 {
                result.signal = code - 128  // bwrap reports a child killed by a signal as 128 + the signal
            } else if code > 128, code < 128 + 65 {
                result.signal = code - 128  // so does bash
            } else {
                result.exitCode = code
                if code != 0, let exception = TracebackParser.lastException(in: output) {
                    result.exceptionType = exception.type
                    result.traceback = exception.traceback
                }
            }
        } else {
            let failure = Self.failure(job: job, record: record, output: output, exec: exec, timeout: timeout, attempts: attempts)
            if record?.state == "TIMEOUT" { result.timedOut = true }
            if let signal = record?.exitCode?.split(separator: ":").last.flatMap({ Int32($0) }), signal > 0 {
                result.signal = signal
            }
            placement.failure = failure
            if record?.state == "FAILED", output.contains("Exceeded job memory limit") { placement.state = "OUT_OF_MEMORY" }
            output += (output.isEmpty || output.hasSuffix("\n") ? "" : "\n") + "[aide] \(failure)\n"
            result.output = output
        }
        result.placement = placement
        return result
    }

    /// Why the job ended without the script's own end, in words.
    static func failure(
        job: String, record: SlurmJobRecord?, output: String, exec: ExecSpec, timeout: Double, attempts: Int
    ) -> String {
        guard let record else {
            return "Slurm job \(job) ended without a word from the script, and Slurm no longer knows the job"
        }
        let why = record.reason.map { ", reason \($0)" } ?? ""
        let retried = attempts > 1 ? " (after one retry)" : ""
        // Without cgroups, Slurm's sampling kills a job over --mem with this line, the job FAILED.
        let overMemory = record.state == "OUT_OF_MEMORY" || output.contains("Exceeded job memory limit")
        if overMemory {
            return "Slurm job \(job) ran out of memory: OUT_OF_MEMORY (Exceeded job memory limit\(exec.slurm.mem.map { " of --mem=\($0)" } ?? ""))"
        }
        let limit = SlurmSpec.timeText(exec.slurm.time ?? (min(timeout, 1e8) + 300))
        switch record.state {
        case "TIMEOUT": return "Slurm job \(job) reached its time limit: TIMEOUT (--time=\(limit))"
        case "NODE_FAIL": return "Slurm job \(job) failed with its node\(record.node.map { " \($0)" } ?? ""): NODE_FAIL\(retried)"
        case "PREEMPTED": return "Slurm job \(job) was preempted: PREEMPTED\(retried)"
        case "CANCELLED": return "Slurm job \(job) was cancelled outside aide: CANCELLED\(why)"
        case "COMPLETED":
            return "Slurm job \(job) completed but its status file is missing (does the node see the run folder?)"
        default: return "Slurm job \(job) ended \(record.state) (exit code \(record.exitCode ?? "unknown")\(why))"
        }
    }
}

/// Where a job's files go: the run's `slurm/` folder, named after the node folder and the job id.
struct SlurmJobFiles: Sendable {
    var folder: URL
    var name: String

    var script: URL { folder.appendingPathComponent("\(name).sbatch") }
    /// The job last submitted for the script (`SlurmJobPointer`).
    var pointer: URL { folder.appendingPathComponent("\(name).job") }
    func output(job: String) -> URL { folder.appendingPathComponent("\(name)-\(job).out") }
    func status(job: String) -> URL { folder.appendingPathComponent("\(name)-\(job).status") }
    func status(_ job: String) -> URL { status(job: job) }
}

/// The status file a job writes: `start <epoch> <node>`, then `exit <status> <epoch>`; between
/// them `stopped <reason>` when its disk watch stopped the script.
struct SlurmJobStatus: Sendable, Hashable {
    var started: Date?
    var node: String?
    var exitCode: Int32?
    var ended: Date?
    var stopped: String?

    static func read(_ file: URL) -> SlurmJobStatus {
        var status = SlurmJobStatus()
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return status }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.first == "start", words.count >= 2 {
                status.started = Double(words[1]).map { Date(timeIntervalSince1970: $0) }
                if words.count >= 3 { status.node = String(words[2]) }
            } else if line.hasPrefix("stopped ") {
                status.stopped = String(line.dropFirst("stopped ".count))
            } else if words.first == "exit", words.count >= 3, let code = Int32(words[1]) {
                status.exitCode = code
                status.ended = Double(words[2]).map { Date(timeIntervalSince1970: $0) }
            }
        }
        return status
    }
}

/// The jobs one interpreter has in flight, and which runs' leftover jobs it has swept.
final class SlurmJobBook: Sendable {
    private struct State {
        var inFlight: Set<String> = []
        var sweeps: [String: Task<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    var inFlight: [String] { state.withLock { $0.inFlight.sorted() } }
    func started(_ job: String) { state.withLock { _ = $0.inFlight.insert(job) } }
    func ended(_ job: String) { state.withLock { _ = $0.inFlight.remove(job) } }

    /// Once per run, before its first job: cancels the jobs of `runID` still queued or running that
    /// this interpreter did not submit (a killed aide's), and waits until the queue has let them go,
    /// so none writes into a folder the resumed run uses again.
    func sweep(runID: String, jobs: URL, control: any SlurmControl) async throws {
        let task = state.withLock { state in
            if let existing = state.sweeps[runID] { return existing }
            let task = Task {
                // Jobs a resumed step takes over are named by their pointers: those are kept.
                let mine = Set(self.inFlight).union(SlurmJobPointer.all(in: jobs).map(\.job))
                func leftovers() async -> [SlurmQueuedJob] {
                    ((try? await control.queuedJobs()) ?? []).filter {
                        SlurmInterpreter.step(ofJob: $0.name, runID: runID) != nil && !mine.contains($0.id)
                    }
                }
                let found = await leftovers()
                guard !found.isEmpty else { return }
                FileHandle.standardError.write(Data(
                    "[slurm] cancelling \(found.count) job(s) a stopped aide left for run \(runID): \(found.map(\.id).joined(separator: " "))\n".utf8))
                control.cancel(found.map(\.id))
                for _ in 0..<60 {
                    if await leftovers().isEmpty { return }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            state.sweeps[runID] = task
            return task
        }
        await task.value
        try Task.checkCancellation()
    }
}

/// The job last submitted for a node folder's script, kept next to the job script as one JSON line
/// (`slurm/<folder>.job`): a resumed run takes the job over by it, and leaves it in the queue.
struct SlurmJobPointer: Sendable, Codable, Hashable {
    var job: String
    var submitted: Date
    /// 2 when this is the resubmission after NODE_FAIL or PREEMPTED.
    var attempt: Int
    /// The script timeout the job runs under, in seconds.
    var timeout: Double

    func write(to file: URL) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        try? encoder.encode(self).write(to: file, options: .atomic)
    }

    static func read(_ file: URL) -> SlurmJobPointer? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(SlurmJobPointer.self, from: data)
    }

    /// Every pointer in a run's `slurm/` folder.
    static func all(in folder: URL) -> [SlurmJobPointer] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".job") }.compactMap { read(folder.appendingPathComponent($0)) }
    }
}
