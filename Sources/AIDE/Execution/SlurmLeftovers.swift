import Foundation

/// The jobs a stopped aide left in the queue for a run (found by their job name, which carries the
/// run id and the step) that no resumed step can take over (no pointer names them: aide was killed
/// between `sbatch` and writing it), cancelled before the run resumes: the resume clears the node
/// folders of steps it does again, so such a job would only write into a folder that is gone or
/// reused. Jobs a pointer names stay: the resumed run waits for them and takes their results.
public enum SlurmLeftovers {
    /// Cancels the queued or running jobs of the run in `runFolder` and waits, up to `patience`
    /// seconds, until the queue has let them go. The ids cancelled; none when Slurm is not there.
    public static func cancel(
        runFolder: URL, patience: Double = 60, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        let runID = runFolder.standardizedFileURL.lastPathComponent
        let adopted = Set(SlurmJobPointer.all(in: runFolder.appendingPathComponent("slurm", isDirectory: true)).map(\.job))
        guard let squeue = Sandbox.findExecutable("squeue", path: environment["PATH"]),
            let scancel = Sandbox.findExecutable("scancel", path: environment["PATH"])
        else { return [] }
        func queued() -> [String] {
            guard let (status, output) = try? Sandbox.capture(squeue, ["-h", "--me", "-o", "%i|%j"], environment: environment),
                status == 0
            else { return [] }
            return output.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
                guard parts.count == 2, SlurmInterpreter.step(ofJob: parts[1], runID: runID) != nil,
                    !adopted.contains(parts[0])
                else { return nil }
                return parts[0]
            }
        }
        let found = queued()
        guard !found.isEmpty else { return [] }
        _ = try? Sandbox.capture(scancel, found, environment: environment)
        let deadline = Date().addingTimeInterval(patience)
        while Date() < deadline, !Set(queued()).isDisjoint(with: found) {
            Thread.sleep(forTimeInterval: 0.5)
        }
        return found
    }
}
