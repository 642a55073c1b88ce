@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

/// Several steps in flight in one run: real Python, real SQLite, scripted answers with a delay.
struct ParallelSearchTests {
    private typealias A = ScriptedAnswers

    /// `count` steps' worth of the same good answer, each call taking `delay` seconds.
    private func answers(_ count: Int, delay: Double, script: String = A.goodScript(metric: 0.5)) throws -> URL {
        var lines: [String] = []
        for _ in 0..<count {
            lines.append(A.code(script, delay: delay))
            lines.append(A.review(isBug: false, metric: 0.5, delay: delay))
        }
        return try A.file(lines)
    }

    private func start(
        _ task: SyntheticTask, answers: URL, configure: (inout TaskSpec) -> Void, backend: ((any Backend) -> any Backend)? = nil
    ) throws -> SearchRun {
        var loaded = try TaskLoader.load(task.taskFile)
        // These scripts log their timing to a file outside their folders, which a sandbox hides.
        loaded.spec.exec.sandbox = .none
        configure(&loaded.spec)
        let scripted = try ScriptedBackend(file: answers)
        let dependencies = try RunAssembly.dependencies(for: loaded, backend: backend?(scripted) ?? scripted)
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-\(UUID().uuidString)")
        return try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
    }

    /// Every node once, steps unique, parents committed before their children, two calls per node.
    private func expectConsistentTree(_ folder: URL, nodes expected: Int) throws {
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        let nodes = try store.nodes()
        #expect(nodes.count == expected)
        #expect(Set(nodes.map(\.step)).count == nodes.count)
        #expect(Set(nodes.map(\.id)).count == nodes.count)
        let byID = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        for node in nodes {
            if let parent = node.parentID {
                #expect(byID[parent] != nil, "node \(node.id) names a parent the run does not hold")
                #expect((byID[parent]?.step ?? .max) < node.step)
            }
        }
        let calls = try store.calls(nodeID: nil)
        #expect(calls.count == 2 * expected)
        #expect(Set(calls.compactMap(\.nodeID)) == Set(nodes.map(\.id)))
        #expect(try store.metrics().count == expected)
    }

    @Test func fourWorkersFinishAboutFourTimesAsManyStepsInTheSameTime() async throws {
        let steps = 8
        let task = try SyntheticTask(steps: steps)
        defer { task.remove() }
        var seconds: [Int: Double] = [:]
        for workers in [1, 4] {
            let run = try start(task, answers: try answers(steps, delay: 0.4)) {
                $0.search.workers = workers
                $0.search.numDrafts = 4
            }
            let clock = ContinuousClock.now
            let summary = await run.run()
            seconds[workers] = (ContinuousClock.now - clock).seconds
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            #expect(summary.status == .finished)
            try expectConsistentTree(summary.folder, nodes: steps)
        }
        // Each step waits 0.8 s on the model and ~0.1 s on Python: one worker takes about 8 × 0.9 s,
        // four about 2 × 0.9 s. Ratio about 4; 2.5 leaves room for a loaded machine.
        let ratio = seconds[1]! / seconds[4]!
        #expect(ratio > 2.5, "1 worker \(seconds[1]!) s, 4 workers \(seconds[4]!) s: ratio \(ratio)")
    }

    /// Scripts that log when they start and end, to a file outside their own folders.
    private func timedScript(log: URL) -> String {
        """
        import time
        start = time.time()
        time.sleep(0.4)
        with open("\(log.path)", "a") as f:
            f.write(f"{start} {time.time()}\\n")
        """ + "\n" + A.goodScript(metric: 0.5)
    }

    /// Most scripts whose [start, end] overlap one another's at any moment.
    private func peakOverlap(_ log: URL) throws -> Int {
        let spans = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: " ").compactMap { Double($0) }
            return (parts[0], parts[1])
        }
        return spans.map { span in spans.filter { $0.0 < span.1 && span.0 < $0.1 }.count }.max() ?? 0
    }

    @Test func scriptsRunAtMostExecParallelAtOnceWhateverTheWorkers() async throws {
        let task = try SyntheticTask(steps: 6)
        defer { task.remove() }
        for parallel in [1, 3] {
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("spans-\(UUID().uuidString).txt")
            defer { try? FileManager.default.removeItem(at: log) }
            let run = try start(task, answers: try answers(6, delay: 0, script: timedScript(log: log))) {
                $0.search.workers = 3
                $0.search.numDrafts = 6
                $0.exec.parallel = parallel
            }
            let summary = await run.run()
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            #expect(summary.status == .finished)
            let peak = try peakOverlap(log)
            if parallel == 1 {
                #expect(peak == 1, "scripts overlapped with exec.parallel 1")
            } else {
                // The control: with room for three, they do run side by side.
                #expect(peak > 1, "with exec.parallel 3, scripts never overlapped")
            }
        }
    }

    /// Counts queries in flight at once, around the real backend.
    private final class ConcurrencyProbe: Backend {
        let base: any Backend
        let load = Mutex<(now: Int, peak: Int)>((0, 0))

        init(_ base: any Backend) { self.base = base }

        func query(
            system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
        ) async throws -> QueryResult {
            load.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            defer { load.withLock { $0.now -= 1 } }
            return try await base.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
        }
    }

    @Test func llmCallsAreBoundedByParallelCalls() async throws {
        let task = try SyntheticTask(steps: 6)
        defer { task.remove() }
        for calls in [1, 3] {
            let probe = Mutex<ConcurrencyProbe?>(nil)
            let run = try start(task, answers: try answers(6, delay: 0.2), configure: {
                $0.search.workers = 3
                $0.search.numDrafts = 6
                $0.agent.parallelCalls = calls
            }, backend: { base in
                let made = ConcurrencyProbe(base)
                probe.withLock { $0 = made }
                return made
            })
            let summary = await run.run()
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            #expect(summary.status == .finished)
            let peak = probe.withLock { $0!.load.withLock { $0.peak } }
            if calls == 1 {
                #expect(peak == 1)
            } else {
                #expect(peak > 1, "three workers never had two calls in flight")
            }
        }
    }

    @Test func stopRequestCutsCallsInFlightShortAndMarksTheRunInterrupted() async throws {
        let task = try SyntheticTask(steps: 40)
        defer { task.remove() }
        let run = try start(task, answers: try answers(40, delay: 0.5)) {
            $0.search.workers = 3
            $0.search.numDrafts = 40
        }
        let work = Task { await run.run() }
        // Wait for the first commit, so three steps are surely in flight after it.
        let database = run.workspace.database
        while ((try? RunStore.openReadOnly(path: database).nodes().count) ?? 0) < 1 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let atStop = await run.requestStop()
        #expect(atStop.inFlight > 0)
        let summary = await work.value
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
        #expect(summary.status == .interrupted)
        #expect(summary.stopReason == "interrupted")
        // The LLM calls in flight were cut short (a provider may hang for minutes), so their steps
        // made no node; none was started after; the tree is whole.
        #expect(summary.nodes >= atStop.committed && summary.nodes <= atStop.committed + atStop.inFlight)
        try expectConsistentTree(summary.folder, nodes: summary.nodes)
    }

    @Test func theStepBudgetIsNeverExceeded() async throws {
        let task = try SyntheticTask(steps: 5)
        defer { task.remove() }
        let run = try start(task, answers: try answers(10, delay: 0.1)) {
            $0.search.workers = 4
            $0.search.numDrafts = 5
        }
        let summary = await run.run()
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
        #expect(summary.status == .finished)
        #expect(summary.stopReason == "steps budget (5) reached")
        try expectConsistentTree(summary.folder, nodes: 5)
    }

    @Test func everyPolicyRunsWithSeveralWorkers() async throws {
        for policy in SearchSpec.policies {
            let task = try SyntheticTask(steps: 8)
            defer { task.remove() }
            let run = try start(task, answers: try answers(8, delay: 0.05)) {
                $0.search.policy = policy
                $0.search.workers = 3
                $0.search.numDrafts = 2
                $0.search.crossoverProb = 1
                $0.search.islands = 1
            }
            let summary = await run.run()
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            #expect(summary.status == .finished, "\(policy): \(summary.stopReason ?? "")")
            try expectConsistentTree(summary.folder, nodes: 8)
            let nodes = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent("run.sqlite")).nodes()
            if policy == "evolutionary" {
                // Crossover nodes keep both parents.
                let crossed = nodes.filter { $0.stage == .crossover }
                #expect(!crossed.isEmpty)
                #expect(crossed.allSatisfy { $0.otherParentID != nil && $0.otherParentID != $0.parentID })
            }
        }
    }
}
