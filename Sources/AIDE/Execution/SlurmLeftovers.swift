import Foundation

/// The jobs a stopped aide left in the queue for a run (found by their job name, which carries the
/// run id and the step), cancelled before the run resumes: the resume clears the unfinished node
/// folders and does those steps again, so a leftover job would only write into a folder that is
/// gone or reused. A job that had finished already stays as it was: its output and status remain
/// in the run's `slurm/` folder.
public enum SlurmLeftovers {
    /// Cancels the queued or running jobs of the run in `runFolder` and waits, up to `patience`
    /// seconds, until the queue has let them go. The ids cancelled; none when Slurm is not there.
    public static func cancel(
        runFolder: URL, patience: Double = 60, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        let runID = runFolder.standardizedFileURL.lastPathComponent
        guard let squeue = Sandbox.findExecutable("squeue", path: environment["PATH"]),
            let scancel = Sandbox.findExecutable("scancel", path: environment["PATH"])
        else { return [] }
        func queued() -> [String] {
            guard let (status, output) = try? Sandbox.capture(squeue, ["-h", "--me", "-o", "%i|%j"], environment: environment),
                status == 0
            else { return [] }
            return output.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
                guard parts.count == 2, SlurmInterpreter.step(ofJob: parts[1], runID: runID) != nil else { return nil }
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
