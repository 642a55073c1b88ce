import Foundation

/// An sbatch job array for a bench: array element i runs case i with the command the CLI gives
/// (followed by the element's index, `$SLURM_ARRAY_TASK_ID`), which updates the bench's index.
public struct SlurmJob: Sendable, Hashable {
    public var partition: String?
    /// Slurm's time format: `1:00:00`, `30`, `1-00:00:00`.
    public var time: String?
    public var cpusPerTask: Int?
    /// Slurm's memory format: `4G`, `500M`.
    public var memory: String?
    /// At most this many elements at once (`--array=0-8%2`); nil for Slurm's choice.
    public var parallel: Int?

    public init(partition: String? = nil, time: String? = nil, cpusPerTask: Int? = nil, memory: String? = nil, parallel: Int? = nil) {
        self.partition = partition
        self.time = time
        self.cpusPerTask = cpusPerTask
        self.memory = memory
        self.parallel = parallel
    }

    /// Checks the values the script would carry, so a typo is an error here rather than in sbatch;
    /// by the rules `exec.slurm` is checked with (`SlurmSpec`).
    public func validate() throws {
        if let partition, !SlurmSpec.isName(partition) { throw BenchError.slurmPartition(partition) }
        if let time, !SlurmSpec.isTimeText(time) { throw BenchError.slurmTime(time) }
        if let cpusPerTask, cpusPerTask < 1 { throw BenchError.slurmCPUs(cpusPerTask) }
        if let memory, SlurmSpec.megabytes(memory) == nil { throw BenchError.slurmMemory(memory) }
        if let parallel, parallel < 1 { throw BenchError.slurmParallel(parallel) }
    }

    /// The job script for a bench of `count` cases in `folder`, run from `workingDirectory`; each
    /// element runs `command` followed by its index.
    public func script(folder: BenchFolder, name: String, count: Int, command: [String], workingDirectory: URL) -> String {
        var lines = ["#!/bin/bash"]
        lines.append("# aide bench \(name): one array element per task × seed (\(count) runs).")
        lines.append("# Submit with: sbatch \(folder.sbatchScript.path)")
        lines.append("# Then, when they are done: aide bench collect \(folder.root.path)")
        lines.append("#SBATCH --job-name=aide-bench-\(name)")
        lines.append("#SBATCH --array=0-\(count - 1)\(parallel.map { "%\($0)" } ?? "")")
        lines.append("#SBATCH --output=\(folder.slurmLogs.path)/%a.out")
        lines.append("#SBATCH --chdir=\(workingDirectory.path)")
        lines.append("#SBATCH --ntasks=1")
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        if let time { lines.append("#SBATCH --time=\(time)") }
        if let cpusPerTask { lines.append("#SBATCH --cpus-per-task=\(cpusPerTask)") }
        if let memory { lines.append("#SBATCH --mem=\(memory)") }
        lines.append("exec \(command.map(Self.quote).joined(separator: " ")) \"$SLURM_ARRAY_TASK_ID\"")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A word for the shell, single-quoted when it needs to be.
    static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+:=@%,".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
