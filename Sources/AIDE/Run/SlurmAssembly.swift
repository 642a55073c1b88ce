import Foundation

extension RunAssembly {
    /// Where the task's scripts run: the local interpreter (`exec.backend: local`), or the same
    /// command as one Slurm job per script (`exec.backend: slurm`).
    public static func scriptInterpreter(
        for task: LoadedTask, warn: (String) -> Void = RunAssembly.standardError
    ) throws -> any Interpreter {
        let local = try interpreter(for: task, warn: warn)
        guard task.spec.exec.backend == .slurm else { return local }
        warn("scripts run as Slurm jobs\(task.spec.exec.slurm.partition.map { " in partition \($0)" } ?? "")")
        return SlurmInterpreter(local: local, exec: task.spec.exec)
    }

    /// Before a run in `runFolder` starts or resumes: what its scripts' backend needs (Slurm's
    /// commands answer, the partition exists, the folder is shared). Nothing for a local run.
    public static func checkBackend(for spec: TaskSpec, runFolder: URL) throws {
        guard spec.exec.backend == .slurm else { return }
        try SlurmCheck.check(spec.exec, runFolder: runFolder)
    }

    /// Before a run in `runFolder` resumes: the Slurm jobs a stopped aide left for it are cancelled
    /// (and gone) before the resume clears the unfinished node folders. Under the run's lock, so a
    /// live aide's jobs are never touched. Nothing for a run that never ran jobs.
    public static func cancelLeftoverJobs(runFolder: URL, warn: (String) -> Void = RunAssembly.standardError) throws {
        guard FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("slurm").path) else { return }
        let lock = try RunLock(folder: runFolder)
        let cancelled = SlurmLeftovers.cancel(runFolder: runFolder)
        withExtendedLifetime(lock) {}
        if !cancelled.isEmpty {
            warn("[slurm] cancelled \(cancelled.count) job(s) a stopped aide left for this run: \(cancelled.joined(separator: " "))")
        }
    }
}
