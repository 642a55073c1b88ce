import AIDE
import Foundation

/// The synthetic task run on scripted answers through the library, as `aide run --scripted` runs it:
/// the task, its answers file and a fresh runs folder, with the options every start and resume use.
public struct ScriptedRun: Sendable {
    public let task: SyntheticTask
    /// The answers file (JSON lines, `ScriptedAnswers`).
    public let answers: URL
    /// The folder runs are made in (nothing is in it until a run starts).
    public let runs: URL
    /// What `start()` runs with; `resume()` runs with its `resumable` part.
    public let options: RunOptions

    /// A task of `taskSteps` steps and `answers`, run `steps` steps at a time with `seed`.
    public init(
        taskSteps: Int, extraYAML: String = "", answers: [String], steps: Int = 1, seed: UInt64? = 3
    ) throws {
        task = try SyntheticTask(steps: taskSteps, extraYAML: extraYAML)
        self.answers = try ScriptedAnswers.file(answers)
        runs = Self.newRunsFolder()
        options = RunOptions(steps: steps, seed: seed, source: .scripted(file: self.answers.path))
    }

    /// A path for a new runs folder under the temporary directory (not made yet).
    public static func newRunsFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-\(UUID().uuidString)")
    }

    /// Answers for `count` steps that each draft or improve a working script with validation
    /// `metric` (and a review that agrees).
    public static func goodSteps(_ count: Int, metric: Double = 0.3) -> [String] {
        (0..<count).flatMap { _ in
            [ScriptedAnswers.code(ScriptedAnswers.goodScript(metric: metric)), ScriptedAnswers.review(isBug: false, metric: metric)]
        }
    }

    /// Starts a new run of the task and runs it to its end (its lock released when this returns).
    public func start() async throws -> RunSummary {
        await (try SearchRun.start(taskFile: task.taskFile, options: options, runsDirectory: runs)).run()
    }

    /// Resumes the run in `folder` with the options' resumable part, `change`d (a larger budget), and
    /// runs it to its end.
    public func resume(_ folder: URL, changing change: (inout RunOptions) -> Void = { _ in }) async throws -> RunSummary {
        var resumable = options.resumable
        change(&resumable)
        return await (try SearchRun.resume(runFolder: folder, options: resumable)).run()
    }

    /// Removes the task, the answers and every run made.
    public func remove() {
        task.remove()
        try? FileManager.default.removeItem(at: answers)
        try? FileManager.default.removeItem(at: runs)
    }
}

extension RunDependencies {
    /// A test run's dependencies with `backend`: scripts run by the test Python, without a sandbox,
    /// their output kept to 8,000 bytes.
    public static func testPython(backend: any Backend) -> RunDependencies {
        RunDependencies(
            backend: backend, interpreter: PythonInterpreter(python: TestPython.path, outputLimit: 8_000),
            syntax: PythonSyntaxCheck(python: TestPython.path))
    }
}
