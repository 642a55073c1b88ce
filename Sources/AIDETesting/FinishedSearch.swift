import AIDE
import Foundation

/// A loaded task searched to its end through the library with a test's dependencies (a loopback
/// backend, the test Python), in a fresh runs folder: the run's summary and its store, to read.
public struct FinishedSearch: Sendable {
    public let summary: RunSummary
    /// The run's database, opened read-only.
    public let store: RunStore
    /// The runs folder the run was made in.
    public let runs: URL

    /// Starts a run of `task` with `dependencies` in a new runs folder and runs it to its end.
    public static func run(_ task: LoadedTask, dependencies: RunDependencies) async throws -> FinishedSearch {
        let runs = ScriptedRun.newRunsFolder()
        do {
            let summary = await (try SearchRun.start(task: task, runsDirectory: runs, dependencies: dependencies)).run()
            let store = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent(RunStore.fileName))
            return FinishedSearch(summary: summary, store: store, runs: runs)
        } catch {
            try? FileManager.default.removeItem(at: runs)
            throw error
        }
    }

    /// The run's nodes in step order.
    public func nodes() throws -> [Node] {
        try store.nodes().sorted { $0.step < $1.step }
    }

    /// Removes the runs folder and the run in it.
    public func remove() {
        try? FileManager.default.removeItem(at: runs)
    }
}
