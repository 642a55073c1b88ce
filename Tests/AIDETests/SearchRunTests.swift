@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// Real runs: scripted LLM answers, real Python execution, real SQLite, real grading.
struct SearchRunTests {
    private typealias A = ScriptedAnswers

    private func dependencies(_ answers: [String]) throws -> RunDependencies {
        .testPython(backend: try ScriptedBackend(file: try A.file(answers)))
    }

    /// Every branch of a step, in one run whose choices follow from the greedy rule with
    /// num_drafts 2 and debug_prob 1 (debug whenever a buggy leaf can be debugged):
    ///   0 draft   good, metric 0.5 (test RMSE 0.5)
    ///   1 draft   raises ValueError                                → buggy
    ///   2 debug   of 1: first answer has no code, second works;
    ///             the review call fails, so the metric is read from the output (0.4)
    ///   3 improve of 2 (best): the script never ends                → buggy, timed out
    ///   4 debug   of 3: works, metric 0.3 (test RMSE 0)             → best
    ///   5 improve of 4: prints a metric but writes no submission   → buggy
    @Test func everyBranchOfAStepIsJournalled() async throws {
        let task = try SyntheticTask(steps: 6, extraYAML: "")
        defer { task.remove() }
        let answers = [
            A.code(A.goodScript(intercept: 1.5, metric: 0.5), plan: "Linear baseline."),
            A.review(isBug: false, metric: 0.5),
            A.code("raise ValueError('bad column')", plan: "Something broken."),
            A.review(isBug: true, metric: nil, summary: "It raised."),
            A.noCode(),
            A.code(A.goodScript(intercept: 1.25, metric: 0.4), plan: "Fixed."),
            A.failure(kind: "review", message: "reviewer unavailable"),
            A.code("import time\nwhile True:\n    time.sleep(0.1)", plan: "Loop forever."),
            A.review(isBug: true, metric: nil, summary: "It timed out."),
            A.code(A.goodScript(metric: 0.3), plan: "Exact fit."),
            A.review(isBug: false, metric: 0.3),
            A.code(A.goodScript(metric: 0.2, submission: false), plan: "Forgot the submission."),
            A.review(isBug: false, metric: 0.2),
        ]
        var loaded = try TaskLoader.load(task.taskFile)
        loaded.spec.budget.scriptTimeout = 2
        let run = try SearchRun.start(task: loaded, runsDirectory: ScriptedRun.newRunsFolder(), dependencies: try dependencies(answers))
        let summary = await run.run()
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }

        #expect(summary.status == .finished)
        #expect(summary.stopReason == "steps budget (6) reached")
        let store = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent("run.sqlite"))
        let nodes = try store.nodes()
        try #require(nodes.count == 6)
        #expect(nodes.map(\.stage) == [.draft, .draft, .debug, .improve, .debug, .improve])
        #expect(nodes.map(\.isBuggy) == [false, true, false, true, false, true])
        #expect(nodes[0].parentID == nil && nodes[1].parentID == nil)
        #expect(nodes[2].parentID == nodes[1].id && nodes[2].debugDepth == 1)
        #expect(nodes[3].parentID == nodes[2].id && nodes[3].debugDepth == 0)
        #expect(nodes[4].parentID == nodes[3].id && nodes[4].debugDepth == 1)
        #expect(nodes[5].parentID == nodes[4].id)

        #expect(nodes[0].metric == 0.5 && nodes[0].metricSource == .output, "the harness reads the metric, always")
        #expect(abs((nodes[0].testScore ?? -1) - 0.5) < 1e-9, "RMSE of predicting 2x + 1.5 against 2x + 1")
        #expect(nodes[1].execution?.exceptionType == "ValueError")
        #expect(nodes[1].bugReasons.contains("raised ValueError"))
        #expect(nodes[2].metric == 0.4 && nodes[2].metricSource == .output, "the review failed, the output had the metric")
        #expect(nodes[2].error?.contains("reviewer unavailable") == true)
        #expect(nodes[3].execution?.timedOut == true)
        #expect(nodes[3].bugReasons.first?.hasPrefix("timed out") == true)
        #expect(nodes[4].metric == 0.3 && nodes[4].testScore == 0)
        #expect(nodes[5].bugReasons.contains("wrote no ./working/submission.csv"))
        #expect(nodes[5].metric == nil, "a buggy node has no metric")

        // The no-code answer cost a call: two debug calls and a failed review at step 2.
        let calls = try store.calls(nodeID: nil)
        #expect(calls.count == 13)
        #expect(calls.filter { $0.step == 2 }.map(\.purpose) == [.debug, .debug, .review])
        #expect(calls.filter { $0.error != nil }.map(\.purpose) == [.review])
        #expect(calls.allSatisfy { $0.nodeID != nil })

        let record = try #require(try store.run())
        #expect(record.status == .finished && record.bestNodeID == nodes[4].id)
        let metrics = try store.metrics()
        #expect(metrics.map(\.step) == [0, 1, 2, 3, 4, 5])
        #expect(metrics.map(\.bestMetric) == [0.5, 0.5, 0.4, 0.4, 0.3, 0.3])
        #expect(metrics.last?.buggyNodes == 3)

        let best = try String(contentsOf: summary.folder.appendingPathComponent("best_solution.py"), encoding: .utf8)
        #expect(best == nodes[4].code)
        #expect(FileManager.default.fileExists(atPath: summary.folder.appendingPathComponent("best_submission.csv").path))
    }

    @Test func theSameAnswersAndSeedBuildTheSameTree() async throws {
        let task = try SyntheticTask(steps: 5)
        defer { task.remove() }
        var answers: [String] = []
        for index in 0..<5 {
            answers.append(A.code(A.goodScript(intercept: 1 + Double(index) / 10, metric: 1 - Double(index) / 10)))
            answers.append(A.review(isBug: false, metric: 1 - Double(index) / 10))
        }
        func tree() async throws -> [String] {
            let run = try SearchRun.start(
                task: try TaskLoader.load(task.taskFile), runsDirectory: ScriptedRun.newRunsFolder(), dependencies: try dependencies(answers))
            let summary = await run.run()
            defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
            let nodes = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent("run.sqlite")).nodes()
            return nodes.map { "\($0.id) \($0.parentID ?? "-") \($0.stage) \($0.metric ?? .nan) \($0.testScore ?? .nan)" }
        }
        let first = try await tree()
        let second = try await tree()
        #expect(first.count == 5)
        #expect(first == second)
    }

    @Test func anLLMFailureCostsTheStepNotTheRunAndKeepsTheCall() async throws {
        let task = try SyntheticTask(steps: 3)
        defer { task.remove() }
        let answers = [
            A.code(A.goodScript(metric: 0.5)), A.review(isBug: false, metric: 0.5),
            A.failure(kind: "code", message: "provider down"),
            A.code(A.goodScript(metric: 0.4)), A.review(isBug: false, metric: 0.4),
        ]
        let run = try SearchRun.start(
            task: try TaskLoader.load(task.taskFile), runsDirectory: ScriptedRun.newRunsFolder(), dependencies: try dependencies(answers))
        let summary = await run.run()
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
        #expect(summary.status == .finished)
        let store = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent("run.sqlite"))
        let nodes = try store.nodes()
        #expect(nodes.count == 3)
        #expect(nodes[1].isBuggy && nodes[1].code.isEmpty)
        #expect(nodes[1].error?.contains("provider down") == true)
        let failed = try store.calls(nodeID: nodes[1].id)
        #expect(failed.count == 1 && failed[0].error?.contains("provider down") == true)
        #expect(try store.run()?.status == .finished)
    }

    @Test func budgetsOfTokensStopTheRun() async throws {
        let task = try SyntheticTask(steps: 50, extraYAML: "")
        defer { task.remove() }
        var loaded = try TaskLoader.load(task.taskFile)
        loaded.spec.budget.tokens = 1
        var answers: [String] = []
        for _ in 0..<3 { answers += [A.code(A.goodScript(metric: 0.5)), A.review(isBug: false, metric: 0.5)] }
        let run = try SearchRun.start(task: loaded, runsDirectory: ScriptedRun.newRunsFolder(), dependencies: try dependencies(answers))
        let summary = await run.run()
        defer { try? FileManager.default.removeItem(at: summary.folder.deletingLastPathComponent()) }
        #expect(summary.status == .finished)
        #expect(summary.nodes == 1, "the first step spends the one-token budget")
        #expect(summary.stopReason == "token budget (1) reached")
    }
}

/// The shipped house-prices task (Kaggle data from ../shared/datasets), searched with the demo's
/// answers and the venv's pandas and scikit-learn: real models, graded on the hidden answers.
@Suite(.enabled(if: HousePrices.python != nil, "needs .venv/bin/python with pandas and scikit-learn (scripts/setup.sh)"))
struct HousePricesRunTests {
    @Test func theDemoSearchRunsAndGradesRealModels() async throws {
        let python = try #require(HousePrices.python)
        var task = try TaskLoader.load(HousePrices.root.appendingPathComponent("tasks/house-prices/task.yaml"))
        task.spec.budget.steps = 4
        task.spec.search.numDrafts = 2
        task.spec.search.debugProb = 1
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-hp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let run = try SearchRun.start(
            task: task, runsDirectory: runs,
            dependencies: RunDependencies(
                backend: try ScriptedBackend(file: HousePrices.root.appendingPathComponent("tasks/house-prices/demo-answers.jsonl")),
                interpreter: PythonInterpreter(python: python), syntax: PythonSyntaxCheck(python: python)))
        let summary = await run.run()
        #expect(summary.status == .finished)
        let nodes = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent("run.sqlite")).nodes()
        #expect(nodes.map(\.stage) == [.draft, .draft, .debug, .improve])
        #expect(nodes.map(\.isBuggy) == [false, true, false, false])
        #expect(nodes[1].execution?.exceptionType == "KeyError")
        // Real models on the held-out houses: RMSE of log prices well under 0.25 (a constant guess is ~0.4).
        for node in nodes where !node.isBuggy {
            let score = try #require(node.testScore)
            #expect(score > 0.05 && score < 0.25, "test RMSE of logs \(score)")
        }
        #expect(summary.best?.id == nodes[2].id)
    }
}

enum HousePrices {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The setup venv's Python, when it exists.
    static var python: String? {
        let path = root.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
}
