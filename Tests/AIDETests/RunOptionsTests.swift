@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// `RunOptions`: what a run is asked to do beyond its task file, applied the same way on start and
/// resume, and the one assembly of a run's dependencies.
struct RunOptionsTests {
    @Test func optionsApplyToTheSpecAndAResumeTakesOnlyBudgetsAndWorkers() {
        let options = RunOptions(
            codeModel: "gpt-4o", feedbackModel: "claude-haiku-4-5", steps: 7, timeLimit: 90, workers: 3, seed: 11,
            sandbox: SandboxMode.none)
        var started = TaskSpec(name: "t", goal: "g", data: "d", metric: MetricSpec(direction: .minimize))
        options.apply(to: &started)
        #expect(started.exec.sandbox == SandboxMode.none)
        #expect(started.agent.codeModel == "gpt-4o")
        #expect(started.agent.reviewModel == "claude-haiku-4-5")
        #expect(started.budget.steps == 7)
        #expect(started.budget.timeLimit == 90)
        #expect(started.search.workers == 3)
        #expect(started.search.seed == 11)

        var resumed = TaskSpec(name: "t", goal: "g", data: "d", metric: MetricSpec(direction: .minimize))
        options.apply(to: &resumed, resuming: true)
        #expect(resumed.agent.codeModel == AgentSpec().codeModel)
        #expect(resumed.search.seed == 0)
        #expect(resumed.exec.sandbox == .auto)
        #expect(resumed.budget.steps == 7 && resumed.budget.timeLimit == 90 && resumed.search.workers == 3)
        #expect(options.changesTask)
        #expect(!options.resumable.changesTask)
        #expect(options.resumable.steps == 7)
    }

    @Test func valuesARunCannotUseAreRefused() {
        let cases: [(RunOptions, RunOptionsError)] = [
            (RunOptions(steps: 0), .notPositive(.steps, 0)),
            (RunOptions(workers: -1), .notPositive(.workers, -1)),
            (RunOptions(timeLimit: 0), .notPositive(.timeLimit, 0)),
            (RunOptions(codeModel: " "), .empty(.codeModel)),
            (RunOptions(replayFallthrough: true), .fallthroughWithoutReplay),
            (RunOptions(replay: ["a.jsonl"], record: "b.jsonl"), .recordWhileReplaying),
            (RunOptions(source: .scripted(file: "s.jsonl"), replay: ["a.jsonl"]), .scriptedUnderReplay),
            (RunOptions(replay: ["a.jsonl", "b.jsonl"], replayFallthrough: true), .fallthroughNeedsRecord),
        ]
        for (options, expected) in cases {
            #expect(throws: expected) { try options.validate() }
        }
        #expect(throws: Never.self) {
            try RunOptions(source: .scripted(file: "s.jsonl"), replay: ["a.jsonl"], replayFallthrough: true).validate()
        }
    }

    @Test func optionsRoundTripThroughJSONAsABenchStoresThem() throws {
        let options = RunOptions(
            codeModel: "m", steps: 2, timeLimit: 1.5, overrides: ["search.num_drafts=1"], source: .live(baseURL: "http://h/v1"),
            replay: ["/c.jsonl"], replayFallthrough: true, sandbox: .bwrap)
        let data = try JSONEncoder().encode(options)
        #expect(try JSONDecoder().decode(RunOptions.self, from: data) == options)
        #expect(try JSONDecoder().decode(RunOptions.self, from: Data("{}".utf8)) == RunOptions())
    }

    @Test func typedOptionsAndOverridesLoadTogetherAndErrorsNameTheirPlace() throws {
        let task = try SyntheticTask(steps: 6)
        defer { task.remove() }
        let loaded = try RunOptions(steps: 2, workers: 2, seed: 5, overrides: ["search.num_drafts=1"]).loadTask(task.taskFile)
        #expect(loaded.spec.budget.steps == 2)
        #expect(loaded.spec.search.workers == 2)
        #expect(loaded.spec.search.seed == 5)
        #expect(loaded.spec.search.numDrafts == 1)
        #expect(throws: RunOptionsError.notPositive(.steps, 0)) { try RunOptions(steps: 0).loadTask(task.taskFile) }
        #expect(throws: TaskError.self) { try RunOptions(overrides: ["search.nope=1"]).loadTask(task.taskFile) }
    }

    /// The interpreter comes with every exec limit of the task, for every caller of the assembly.
    @Test func theAssemblyGivesTheInterpreterEveryExecLimit() throws {
        let task = try SyntheticTask(steps: 2)
        defer { task.remove() }
        let limits = ["exec.memory_limit_mb=512", "exec.cpu_limit=30", "exec.output_limit=4000", "exec.parallel=1"]
        let loaded = try RunOptions(workers: 2, overrides: limits).loadTask(task.taskFile)
        let interpreter = try RunAssembly.interpreter(for: loaded)
        #expect(interpreter.memoryLimitMB == 512)
        #expect(interpreter.cpuLimit == 30)
        #expect(interpreter.outputLimit == 4000)
        #expect(interpreter.threadsPerScript == loaded.spec.exec.threadsPerScript(running: 2))
    }

    /// Start and resume through the options: the resumed run keeps its task and takes the new budget.
    @Test func aRunStartsAndResumesThroughItsOptions() async throws {
        let scripted = try ScriptedRun(taskSteps: 6, answers: ScriptedRun.goodSteps(4))
        defer { scripted.remove() }
        let first = try await scripted.start()
        #expect(first.status == .finished && first.nodes == 1)

        #expect(throws: RunOptionsError.resumeChangesTask) {
            try SearchRun.resume(runFolder: first.folder, options: RunOptions(codeModel: "gpt-4o"))
        }
        let second = try await scripted.resume(first.folder) { $0.steps = 2 }
        #expect(second.status == .finished && second.nodes == 2)
        let store = try RunStore.openReadOnly(path: first.folder.appendingPathComponent(RunStore.fileName))
        defer { try? store.close() }
        let spec = try #require(try store.run()).spec()
        #expect(spec.search.seed == 3)
    }
}
