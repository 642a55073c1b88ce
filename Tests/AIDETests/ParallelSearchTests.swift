@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

/// Several steps in flight in one run: real Python, real SQLite, scripted answers with a delay.
/// (Timing, the script-slot cap and stopping are checked in virtual time: VirtualTimeTests.)
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
    /// Returns the nodes.
    @discardableResult
    private func expectConsistentTree(_ folder: URL, nodes expected: Int) throws -> [Node] {
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
        return nodes
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
        try await Poll.until("the first commit") { ((try? RunStore.openReadOnly(path: database).nodes().count) ?? 0) >= 1 }
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

    @Test func answersKeyedByStepGiveEachStepItsOwnWhateverOrderTheCallsComeIn() async throws {
        let task = try SyntheticTask(steps: 6)
        defer { task.remove() }
        // Listed last step first, and the later a step the sooner its calls answer: handed out in
        // call order, steps would get one another's answers.
        var lines: [String] = []
        for step in (0..<6).reversed() {
            let metric = Double(step) / 10
            let delay = Double(5 - step) * 0.05
            lines.append(A.code("# step \(step)\n" + A.goodScript(metric: metric), delay: delay, step: step))
            lines.append(A.review(isBug: false, metric: metric, summary: "step \(step)", delay: delay, step: step))
        }
        let run = try start(task, answers: try A.file(lines)) {
            $0.search.workers = 3
            $0.search.numDrafts = 6
        }
        let summary = await run.run()
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
        #expect(summary.status == .finished, "\(summary.stopReason ?? "")")
        let nodes = try expectConsistentTree(summary.folder, nodes: 6)
        for node in nodes {
            #expect(node.code.hasPrefix("# step \(node.step)\n"))
            #expect(node.metric == Double(node.step) / 10)
            #expect(node.review?.summary == "step \(node.step)")
        }
    }

    @Test func everyPolicyRunsWithSeveralWorkers() async throws {
        let policies: [SearchPolicyChoice] = [
            .greedy, .mcts(MCTSSettings()), .evolutionary(EvolutionarySettings(islands: 1, crossoverProb: 1)),
        ]
        for policy in policies {
            let task = try SyntheticTask(steps: 8)
            defer { task.remove() }
            let run = try start(task, answers: try answers(8, delay: 0.05)) {
                $0.search.policy = policy
                $0.search.workers = 3
                $0.search.numDrafts = 2
            }
            let summary = await run.run()
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            #expect(summary.status == .finished, "\(policy): \(summary.stopReason ?? "")")
            let nodes = try expectConsistentTree(summary.folder, nodes: 8)
            if policy.name == .evolutionary {
                // Crossover nodes keep both parents.
                let crossed = nodes.filter { $0.stage == .crossover }
                #expect(!crossed.isEmpty)
                #expect(crossed.allSatisfy { $0.otherParentID != nil && $0.otherParentID != $0.parentID })
            }
        }
    }
}
