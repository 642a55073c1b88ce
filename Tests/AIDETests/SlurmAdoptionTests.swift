@testable import AIDE
import AIDETesting
import Foundation
import Testing

// `--resume` after a killed aide takes over the Slurm jobs it left: a job that finished while aide
// was dead gives its step's node (its job id, its output), the step's code is the one the dead
// process had, and no code is asked for again. scripts/check-slurm-run.sh does the same on a real
// one-node Slurm with kill -9.

private func slurmInterpreter(_ slurm: ScriptedSlurm) -> SlurmInterpreter {
    var exec = ExecSpec()
    exec.backend = .slurm
    var interpreter = SlurmInterpreter(local: PythonInterpreter(python: TestPython.path), exec: exec, control: slurm)
    interpreter.fileChecks = (0.001, 0.01)
    interpreter.controllerChecks = (0, 0)
    return interpreter
}

/// Runs the job's script in its node folder, as the job would while no aide runs, and writes what
/// the job writes when it ends: the output and the status file's end line.
private func finishJob(_ job: String, of nodeFolder: URL) throws {
    let jobs = nodeFolder.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("slurm")
    let files = SlurmJobFiles(folder: jobs, name: nodeFolder.lastPathComponent)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: TestPython.path)
    process.arguments = ["runfile.py"]
    process.currentDirectoryURL = nodeFolder
    _ = FileManager.default.createFile(atPath: files.output(job: job).path, contents: nil)
    let output = try FileHandle(forWritingTo: files.output(job: job))
    process.standardOutput = output
    process.standardError = output
    try process.run()
    process.waitUntilExit()
    try output.close()
    let status = try FileHandle(forWritingTo: files.status(job: job))
    try status.seekToEnd()
    try status.write(contentsOf: Data("exit \(process.terminationStatus) \(Date().timeIntervalSince1970)\n".utf8))
    try status.close()
}

@Suite struct SlurmAdoptionTests {
    private typealias A = ScriptedAnswers

    @Test func aJobThatEndedWhileAideWasDeadIsTakenOverNotSubmittedAgain() async throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-adopt-\(UUID().uuidString.prefix(8))")
        let node = run.appendingPathComponent("nodes/0002-abcd1234")
        try FileManager.default.createDirectory(at: node, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: run) }
        // The first aide submits job 100, which is still running when it dies.
        let first = ScriptedSlurm { _ in .hang }
        let dying = Task { try await slurmInterpreter(first).run(script: "print(1)\n", in: node, timeout: 60) }
        await first.waitForSubmissions(1)
        // No resumed run may take over a job this aide cancelled itself (Ctrl-C twice).
        dying.cancel()
        _ = try? await dying.value
        #expect(try await slurmInterpreter(ScriptedSlurm()).adopt(in: node) == nil)

        let second = ScriptedSlurm { _ in .hang }
        let killed = Task { try await slurmInterpreter(second).run(script: "print('Validation metric: 0.7')\n", in: node, timeout: 60) }
        await second.waitForQuestion(about: "100")
        // As kill -9 would leave it: the pointer to job 100 is kept (restored after the task's own
        // cancellation, which stands in for the killed process here); the job then ends on its own.
        let jobs = run.appendingPathComponent("slurm")
        let pointer = try #require(SlurmJobPointer.read(jobs.appendingPathComponent("0002-abcd1234.job")))
        killed.cancel()
        _ = try? await killed.value
        pointer.write(to: jobs.appendingPathComponent("0002-abcd1234.job"))
        try finishJob("100", of: node)

        // The resumed aide's queue still lists job 100 under the run's name: it is not cancelled.
        let resumed = ScriptedSlurm()
        resumed.addLeftover(SlurmQueuedJob(id: "100", name: SlurmInterpreter.jobName(runID: run.lastPathComponent, step: 2), state: "RUNNING"))
        resumed.addLeftover(SlurmQueuedJob(id: "99", name: SlurmInterpreter.jobName(runID: run.lastPathComponent, step: 1), state: "PENDING"))
        let interpreter = slurmInterpreter(resumed)
        let result = try #require(try await interpreter.adopt(in: node))
        #expect(result.exitCode == 0)
        #expect(result.output.contains("Validation metric: 0.7"))
        #expect(result.placement?.jobID == "100")
        #expect(result.placement?.node == "fake-node")
        #expect(resumed.submitted.isEmpty)
        // A job no pointer names (aide died between sbatch and the pointer) is cancelled by the first new job.
        _ = try await interpreter.run(script: "print(2)\n", in: node, timeout: 60)
        #expect(resumed.cancelled == ["99"])
    }

    @Test func aResumedRunFinishesThePendingStepFromItsJob() async throws {
        let task = try SyntheticTask(steps: 2)
        defer { task.remove() }
        var loaded = try TaskLoader.load(task.taskFile)
        loaded.spec.exec.sandbox = .none
        loaded.spec.exec.backend = .slurm
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let pendingScript = A.goodScript(metric: 0.25)
        let answers = try A.file([
            A.code(A.goodScript(metric: 0.5), plan: "First."), A.review(isBug: false, metric: 0.5),
            A.code(pendingScript, plan: "Second."),
        ])
        // Job 100 (step 0) runs; job 101 (step 1) is still running when the first aide stops.
        let first = ScriptedSlurm { $0 == 0 ? .run : .hang }
        let dependencies = try RunAssembly.dependencies(
            for: loaded, backend: try ScriptedBackend(file: answers), interpreter: slurmInterpreter(first), warn: { _ in })
        let (folder, running) = try { () throws -> (URL, Task<RunSummary, Never>) in
            // Only the task holds the run (and its lock), so the lock goes when the task ends.
            let run = try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
            return (run.workspace.root, Task { await run.run() })
        }()
        await first.waitForQuestion(about: "101")
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent(RunStore.fileName))
        defer { try? store.close() }
        let pending = try store.pendingSteps()
        #expect(pending.map(\.node.step) == [1])
        #expect(pending.first?.node.plan == "Second.")
        #expect(pending.first?.calls.map(\.purpose) == [.draft])
        let jobs = folder.appendingPathComponent("slurm")
        let nodeFolder = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nodes").path)
            .first { $0.hasPrefix("0001-") })
        let pointerFile = jobs.appendingPathComponent(nodeFolder + ".job")
        let pointer = try #require(SlurmJobPointer.read(pointerFile))
        #expect(pointer.job == "101")
        running.cancel()
        #expect(await running.value.status == .interrupted)
        // What kill -9 leaves instead: the pointer; and the job ends while no aide runs.
        pointer.write(to: pointerFile)
        try finishJob("101", of: folder.appendingPathComponent("nodes").appendingPathComponent(nodeFolder))

        // The resumed run has a review to give, and no code: the step's code is the one it had.
        let resumedSlurm = ScriptedSlurm()
        let reviews = try ScriptedBackend(file: try A.file([A.review(isBug: false, metric: 0.25)]))
        let resumed = try SearchRun.resume(runFolder: folder, dependencies: { task in
            try RunAssembly.dependencies(for: task, backend: reviews, interpreter: slurmInterpreter(resumedSlurm), warn: { _ in })
        })
        let summary = await resumed.run()
        #expect(summary.status == .finished)
        #expect(resumedSlurm.submitted.isEmpty)
        #expect(reviews.consumed.code == 0)
        let nodes = try store.nodes()
        #expect(nodes.map(\.step) == [0, 1])
        let adopted = try #require(nodes.last)
        #expect(adopted.plan == "Second.")
        #expect(adopted.code.contains("0.25"))
        #expect(adopted.execution?.placement?.jobID == "101")
        #expect(adopted.metric == 0.25)
        #expect(!adopted.isBuggy)
        // Its code call from the first aide and its review from the second, both with the node.
        #expect(try store.calls(nodeID: adopted.id).map(\.purpose) == [.draft, .review])
        #expect(try store.pendingSteps().isEmpty)
    }
}
