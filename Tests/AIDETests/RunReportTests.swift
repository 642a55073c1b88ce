import AIDETesting
import Foundation
import GRDB
import Testing

@testable import AIDE

/// `aide report`: reports of runs with known trees, written through the real store and read back
/// read-only, in every format; and the command on good and bad input.
struct RunReportTests {
    // MARK: Fixtures

    private static let runID = "house-prices-20250601-120000-7f3a"

    private static let spec = TaskSpec(
        name: "house-prices", goal: "Predict SalePrice.", data: "data",
        metric: MetricSpec(name: "RMSE of log SalePrice", direction: .minimize),
        agent: AgentSpec(codeModel: "claude-sonnet-4-5", feedbackModel: "claude-haiku-4-5"))

    private static let start = Date(timeIntervalSinceReferenceDate: 770_000_000)

    /// A fresh directory, removed when `body` returns.
    private static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-report-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    private struct Spec {
        var id: String
        var parent: String?
        var stage: Stage
        var metric: Double?
        var test: Double?
        var reasons: [String]
        var exec: Double
    }

    /// The known tree (minimize):
    ///
    ///     0 draft   aaaa1111  metric 0.2   test 0.21   10 s
    ///       4 improve eeee5555  buggy: timed out          600 s
    ///     1 draft   bbbb2222  buggy: raised KeyError      2 s
    ///       2 debug   cccc3333  metric 0.15  test 0.16   3 s
    ///         3 improve dddd4444  metric 0.12  test 0.13  4 s   ← best
    private static let tree: [Spec] = [
        Spec(id: "aaaa1111", parent: nil, stage: .draft, metric: 0.2, test: 0.21, reasons: [], exec: 10),
        Spec(id: "bbbb2222", parent: nil, stage: .draft, metric: nil, test: nil, reasons: ["raised KeyError"], exec: 2),
        Spec(id: "cccc3333", parent: "bbbb2222", stage: .debug, metric: 0.15, test: 0.16, reasons: [], exec: 3),
        Spec(id: "dddd4444", parent: "cccc3333", stage: .improve, metric: 0.12, test: 0.13, reasons: [], exec: 4),
        Spec(id: "eeee5555", parent: "aaaa1111", stage: .improve, metric: nil, test: nil,
             reasons: ["timed out after 600 s"], exec: 600),
    ]

    private static func code(_ id: String) -> String { "# solution \(id)\nprint('Validation metric: 1')\n" }

    /// Writes the first `steps` nodes of `tree` to `directory/<runID>/run.sqlite`; each node has a
    /// sonnet call (1000 in, 200 out, $0.01, 5 s) and a haiku review (500 in, 50 out, $0.001, 1 s),
    /// except that the last node's review failed (2 s, no tokens). Returns the open writer.
    @discardableResult
    private static func makeRun(
        in directory: URL, id: String = runID, steps: Int = tree.count, finish: Bool = true
    ) throws -> RunStore {
        let store = try RunStore(path: RunStore.fileURL(runsDirectory: directory, runID: id))
        try store.createRun(RunRecord(id: id, taskFile: "tasks/house-prices/task.yaml", spec: spec, startedAt: start))
        var journal = Journal(direction: .minimize)
        var cumulative = (input: 0, output: 0, cost: 0.0)
        for (step, node) in tree.prefix(steps).enumerated() {
            let created = start.addingTimeInterval(Double(step) * 100)
            let made = Node(
                id: node.id, parentID: node.parent, step: step, stage: node.stage, plan: "Plan of \(node.id).",
                code: code(node.id),
                execution: ExecutionResult(
                    output: "output of \(node.id)\n", outputBytes: 20, exitCode: node.reasons.isEmpty ? 0 : 1,
                    duration: node.exec, exceptionType: node.reasons == ["raised KeyError"] ? "KeyError" : nil),
                review: Review(isBug: !node.reasons.isEmpty, summary: "Review of \(node.id).", metric: node.metric),
                metric: node.metric, metricSource: node.metric == nil ? nil : .review, testScore: node.test,
                isBuggy: !node.reasons.isEmpty, bugReasons: node.reasons, createdAt: created,
                finishedAt: created.addingTimeInterval(90))
            journal.append(made)
            var calls = [
                LLMCallRecord(
                    runID: id, nodeID: nil, step: step, purpose: CallPurpose(node.stage), model: "claude-sonnet-4-5",
                    provider: .anthropic, latency: 5, lastAttemptLatency: 5, inputTokens: 1000, outputTokens: 200,
                    costUSD: 0.01, attempts: 1, createdAt: created)
            ]
            if step == tree.count - 1 {
                calls.append(LLMCallRecord(
                    runID: id, nodeID: nil, step: step, purpose: .review, model: "claude-haiku-4-5",
                    provider: .anthropic, error: "HTTP 529 overloaded_error", latency: 2, createdAt: created))
            } else {
                calls.append(LLMCallRecord(
                    runID: id, nodeID: nil, step: step, purpose: .review, model: "claude-haiku-4-5",
                    provider: .anthropic, latency: 1, lastAttemptLatency: 1, inputTokens: 500, outputTokens: 50,
                    costUSD: 0.001, attempts: 1, createdAt: created))
            }
            for call in calls {
                cumulative.input += call.inputTokens
                cumulative.output += call.outputTokens
                cumulative.cost += call.costUSD ?? 0
            }
            let best = journal.best
            try store.commit(
                node: made, calls: calls,
                metrics: MetricsRecord(
                    runID: id, step: step, bestMetric: best?.metric, bestTestScore: best?.testScore, bestNodeID: best?.id,
                    inputTokens: cumulative.input, outputTokens: cumulative.output, costUSD: cumulative.cost,
                    elapsed: Double(step + 1) * 100, nodes: journal.count, buggyNodes: journal.buggyNodes.count),
                bestNodeID: best?.id)
        }
        if finish {
            try store.updateRun(
                status: .finished, stopReason: "steps budget", bestNodeID: nil,
                finishedAt: start.addingTimeInterval(Double(steps) * 100))
        }
        return store
    }

    private static func report(in directory: URL) throws -> RunReport {
        let store = try RunReport.openStore(runID, runsDirectory: directory)
        defer { try? store.close() }
        return try RunReport.load(store)
    }

    // MARK: The report

    @Test func reportHoldsTheKnownTree() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory)
            let report = try Self.report(in: directory)
            #expect(report.run.id == Self.runID)
            #expect(report.run.status == .finished)
            #expect(report.run.stopReason == "steps budget")
            #expect(report.run.direction == .minimize)
            #expect(report.run.models == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            #expect(report.counts == RunReport.Counts(steps: 5, good: 3, buggy: 2))
            #expect(report.best == RunReport.BestNode(id: "dddd4444", step: 3, metric: 0.12, testScore: 0.13))
            #expect(report.bestPath == ["bbbb2222", "cccc3333", "dddd4444"])
            #expect(report.stepsToBest == 4)
            #expect(report.models.map(\.model) == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            let sonnet = report.models[0]
            #expect(sonnet.calls == 5 && sonnet.inputTokens == 5000 && sonnet.outputTokens == 1000)
            #expect(abs((sonnet.costUSD ?? 0) - 0.05) < 1e-9)
            let haiku = report.models[1]
            #expect(haiku.calls == 5 && haiku.failedCalls == 1 && haiku.inputTokens == 2000 && haiku.outputTokens == 200)
            #expect(abs((haiku.costUSD ?? 0) - 0.004) < 1e-9)
            #expect(report.totals.calls == 10)
            #expect(abs(report.totals.costUSD - 0.054) < 1e-9)
            #expect(report.time.wall == 500)
            #expect(report.time.llm == 31)
            #expect(report.time.execution == 619)
            #expect(report.nodes.map(\.id) == Self.tree.map(\.id))
            #expect(report.nodes.map(\.onBestPath) == [false, true, true, true, false])
            #expect(report.nodes[4].bugReasons == ["timed out after 600 s"])
            #expect(report.nodes[4].parentID == "aaaa1111")
        }
    }

    @Test func textShowsTheTreeWithTheBestPath() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory)
            let report = try Self.report(in: directory)
            let text = try ReportRenderer.render(report, format: .text, color: false)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "run \(Self.runID) · house-prices · finished (steps budget)")
            #expect(lines.contains("nodes: 5 (3 good, 2 buggy)"))
            #expect(lines.contains("best: node dddd4444 (step 3), metric 0.12, test score 0.13"))
            #expect(lines.contains("best path: bbbb2222 → cccc3333 → dddd4444"))
            #expect(lines.contains("tokens: 7000 in / 1200 out · $0.0540 · 10 calls"))
            #expect(lines.contains("  claude-haiku-4-5: 5 calls (1 failed), 2000 in / 200 out, $0.0040"))
            #expect(lines.contains("time: 8m20s wall · 31.0s LLM · 10m19s execution"))
            let tree = Array(lines.drop { !$0.hasPrefix("tree") }.dropFirst())
            #expect(tree == [
                "  0 draft aaaa1111  metric 0.2  test 0.21  10.0s",
                "    4 improve eeee5555  ✗ buggy: timed out after 600 s  10m00s",
                "* 1 draft bbbb2222  ✗ buggy: raised KeyError  2.0s",
                "*   2 debug cccc3333  metric 0.15  test 0.16  3.0s",
                "*     3 improve dddd4444  metric 0.12  test 0.13  4.0s  ← best",
                "",
            ])
            #expect(!text.contains("\u{1B}["))
            let colored = try ReportRenderer.render(report, format: .text, color: true)
            #expect(colored.contains("\u{1B}[1;32m"))
            #expect(colored.contains("\u{1B}[31m✗ buggy"))
        }
    }

    @Test func jsonIsStableSnakeCaseWithEveryKey() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory)
            let report = try Self.report(in: directory)
            let json = try ReportRenderer.render(report, format: .json)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["schema"] as? String == "aide.report/1")
            #expect(object["kind"] as? String == "run")
            #expect(Set(object.keys) == ["schema", "kind", "run", "counts", "best", "best_path", "models", "totals", "time", "nodes"])
            let run = try #require(object["run"] as? [String: Any])
            #expect(run["stop_reason"] as? String == "steps budget")
            #expect(run["direction"] as? String == "minimize")
            #expect(run["started_at"] as? String == "2025-05-27T00:53:20Z")
            let best = try #require(object["best"] as? [String: Any])
            #expect(best["id"] as? String == "dddd4444")
            #expect(best["test_score"] as? Double == 0.13)
            #expect(object["best_path"] as? [String] == ["bbbb2222", "cccc3333", "dddd4444"])
            let nodes = try #require(object["nodes"] as? [[String: Any]])
            #expect(nodes.count == 5)
            // A buggy node has its metric as an explicit null: every documented key is present.
            #expect(nodes[1]["metric"] is NSNull)
            #expect(nodes[1]["parent_id"] is NSNull)
            #expect(nodes[2]["parent_id"] as? String == "bbbb2222")
            #expect(Set(nodes[0].keys) == [
                "id", "parent_id", "other_parent_id", "step", "stage", "metric", "test_score", "is_buggy", "bug_reasons",
                "exec_time", "on_best_path",
            ])
            #expect(nodes[0]["other_parent_id"] is NSNull)
            // Sorted keys: the same report renders the same bytes, and it decodes back whole.
            #expect(try ReportRenderer.render(report, format: .json) == json)
            #expect(json.range(of: "\"best\"")!.lowerBound < json.range(of: "\"best_path\"")!.lowerBound)
            let decoded = try ReportSchema.decoder.decode(RunReport.self, from: Data(json.utf8))
            #expect(decoded.nodes == report.nodes)
            #expect(decoded.best == report.best)
            #expect(decoded.models == report.models)
        }
    }

    @Test func aCrossoverShowsBothParentsInEveryFormat() async throws {
        try await Self.withTemporaryDirectory { directory in
            let store = try Self.makeRun(in: directory, finish: false)
            let created = Self.start.addingTimeInterval(600)
            let crossed = Node(
                id: "ffff6666", parentID: "dddd4444", step: 5, stage: .crossover, plan: "Blend both.",
                code: Self.code("ffff6666"), metric: 0.11, metricSource: .review, isBuggy: false, createdAt: created,
                finishedAt: created, otherParentID: "aaaa1111")
            try store.commit(
                node: crossed, calls: [],
                metrics: MetricsRecord(
                    runID: Self.runID, step: 5, bestMetric: 0.11, bestTestScore: nil, bestNodeID: "ffff6666",
                    inputTokens: 0, outputTokens: 0, costUSD: 0, elapsed: 600, nodes: 6, buggyNodes: 2),
                bestNodeID: "ffff6666")
            let report = try Self.report(in: directory)
            let row = try #require(report.nodes.first { $0.id == "ffff6666" })
            #expect(row.parentID == "dddd4444" && row.otherParentID == "aaaa1111" && row.stage == .crossover)
            let text = try ReportRenderer.render(report, format: .text)
            #expect(text.contains("5 crossover ffff6666 × aaaa1111"), "\(text)")
            let json = try ReportRenderer.render(report, format: .json)
            let decoded = try ReportSchema.decoder.decode(RunReport.self, from: Data(json.utf8))
            #expect(decoded.nodes.last?.otherParentID == "aaaa1111")
            let detail = try NodeDetail.load(store, node: "ffff")
            #expect(detail.otherParentID == "aaaa1111")
            #expect(try ReportRenderer.render(detail, format: .text).contains("crossover of dddd4444 × aaaa1111"))
            #expect(try ReportRenderer.render(detail, format: .markdown).contains("| crossed with | `aaaa1111` |"))
        }
    }

    @Test func markdownHasTheSummaryTableAndTree() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory)
            let markdown = try ReportRenderer.render(try Self.report(in: directory), format: .markdown)
            #expect(markdown.hasPrefix("## aide run `\(Self.runID)`\n"))
            #expect(markdown.contains("| status | finished (steps budget) |"))
            #expect(markdown.contains("| nodes | 5 (3 good, 2 buggy) |"))
            #expect(markdown.contains("| best | `dddd4444` (step 3): metric 0.12, test 0.13 |"))
            #expect(markdown.contains("| claude-haiku-4-5 | 5 | 1 | 2000 | 200 | $0.0040 |"))
            #expect(markdown.contains("\n- step 0 draft `aaaa1111` — metric 0.2, test 0.21, 10.0s\n"))
            #expect(markdown.contains("\n  - step 4 improve `eeee5555` — ✗ buggy: timed out after 600 s, 10m00s\n"))
            #expect(markdown.contains("\n    - **step 3 improve `dddd4444`** — metric 0.12, test 0.13, 4.0s ← best\n"))
        }
    }

    @Test func nodeDetailByPrefixWithItsCalls() async throws {
        try await Self.withTemporaryDirectory { directory in
            let writer = try Self.makeRun(in: directory)
            try writer.close()
            let store = try RunReport.openStore(Self.runID, runsDirectory: directory)
            defer { try? store.close() }
            let detail = try NodeDetail.load(store, node: "ccc")
            #expect(detail.id == "cccc3333")
            #expect(detail.parentID == "bbbb2222")
            #expect(detail.children == ["dddd4444"])
            #expect(detail.onBestPath && !detail.isBest)
            #expect(detail.plan == "Plan of cccc3333.")
            #expect(detail.code == Self.code("cccc3333"))
            #expect(detail.calls.map(\.model) == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            let text = try ReportRenderer.render(detail, format: .text)
            #expect(text.hasPrefix("node cccc3333 · step 2 · debug of bbbb2222 · run \(Self.runID)\n"))
            #expect(text.contains("metric 0.15 (from the review) · test score 0.16 · on the best path\n"))
            #expect(text.contains(Self.code("cccc3333")))
            #expect(text.contains("output of cccc3333\n"))
            #expect(text.contains("no bug · metric 0.15: Review of cccc3333.\n"))
            #expect(text.contains("review · claude-haiku-4-5 · 1.0s · 500 in / 50 out · $0.0010\n"))
            let markdown = try ReportRenderer.render(detail, format: .markdown)
            #expect(markdown.contains("```python\n# solution cccc3333\n"))
            #expect(markdown.contains("| review | claude-haiku-4-5 | 1.0s | 500 | 50 | $0.0010 |  |"))
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(detail, format: .json).utf8)) as? [String: Any])
            #expect(json["kind"] as? String == "node")
            #expect(json["code"] as? String == Self.code("cccc3333"))
            #expect((json["review"] as? [String: Any])?["is_bug"] as? Bool == false)
            #expect((json["calls"] as? [[String: Any]])?.count == 2)

            let failed = try NodeDetail.load(store, node: "eeee5555")
            #expect(failed.calls.last?.error == "HTTP 529 overloaded_error")
            #expect(failed.calls.last?.costUSD == nil)

            let noNode = #expect(throws: ReportError.self) { try NodeDetail.load(store, node: "abc") }
            #expect(noNode == .noNode(reference: "abc", run: Self.runID, count: 5))
            #expect(noNode?.description == "no node abc in run \(Self.runID) (it has 5 nodes)")
            #expect(try RunReport.bestCode(store) == Self.code("dddd4444"))
        }
    }

    @Test func aRunStillGoingReportsWhatIsCommitted() async throws {
        try await Self.withTemporaryDirectory { directory in
            let writer = try Self.makeRun(in: directory, steps: 2, finish: false)
            defer { try? writer.close() }
            let report = try Self.report(in: directory)
            #expect(report.run.status == .running)
            #expect(report.run.finishedAt == nil)
            #expect(report.counts == RunReport.Counts(steps: 2, good: 1, buggy: 1))
            #expect(report.best?.id == "aaaa1111")
            let text = try ReportRenderer.render(report, format: .text)
            #expect(text.hasPrefix("run \(Self.runID) · house-prices · running\n"))
            // The writer is not held up by the reader.
            let store = try RunReport.openStore(Self.runID, runsDirectory: directory)
            try writer.touchRun()
            try store.close()
        }
    }

    /// A run that cannot be opened is a `ReportError` that keeps the store's or the workspace's
    /// fact (so the CLI can still name its flag), in that layer's words.
    @Test func aRunThatCannotBeOpenedKeepsItsCause() async throws {
        try await Self.withTemporaryDirectory { directory in
            let missing = #expect(throws: ReportError.self) { try RunReport.openStore("nope", runsDirectory: directory) }
            #expect(missing == .workspace(.noRun(reference: "nope", runsDirectory: directory.path)))
            #expect(missing?.description == WorkspaceError.noRun(reference: "nope", runsDirectory: directory.path).description)

            // A run folder whose database holds no run yet.
            let folder = directory.appendingPathComponent("empty-run")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let database = folder.appendingPathComponent("run.sqlite")
            try RunStore(path: database).close()
            let empty = #expect(throws: ReportError.self) { try RunReport.load(folder.path, runsDirectory: directory) }
            #expect(empty == .store(.noRun(path: database.path)))
            #expect(empty?.description == "\(database.path) holds no run yet")
        }
    }

    @Test func aRunWithoutGoodNodesHasNoBestCode() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory, steps: 0)
            let store = try RunReport.openStore(Self.runID, runsDirectory: directory)
            defer { try? store.close() }
            let report = try RunReport.load(store)
            #expect(report.best == nil && report.bestPath.isEmpty && report.stepsToBest == nil)
            #expect(report.run.models == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            #expect(throws: ReportError.self) { try RunReport.bestCode(store) }
            #expect(try ReportRenderer.render(report, format: .text).hasSuffix("no nodes yet\n"))
        }
    }

    // MARK: Many runs

    @Test func listingAndComparison() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory).close()
            try Self.makeRun(in: directory, id: "house-prices-b", steps: 1).close()
            let broken = directory.appendingPathComponent("zz-broken")
            try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
            try Data("not sqlite at all, not even close".utf8).write(to: broken.appendingPathComponent("run.sqlite"))
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("not-a-run"), withIntermediateDirectories: true)

            let listing = try RunListing.load(runsDirectory: directory)
            // Same start time: by id; the unreadable run last.
            #expect(listing.runs.map(\.id) == [Self.runID, "house-prices-b", "zz-broken"])
            #expect(listing.runs[0].steps == 5 && listing.runs[0].bestMetric == 0.12 && listing.runs[0].bestTestScore == 0.13)
            #expect(listing.runs[1].bestMetric == 0.2)
            #expect(listing.runs[2].error?.contains("is not an SQLite database") == true)
            let text = try ReportRenderer.render(listing, format: .text)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            #expect(lines[0].hasPrefix("run "))
            #expect(lines[1].hasPrefix(Self.runID) && lines[1].contains("finished  5      0.12  0.13  0.0540"))
            let markdown = try ReportRenderer.render(listing, format: .markdown)
            #expect(markdown.contains("| `\(Self.runID)` | house-prices | finished | 5 | 0.12 | 0.13 | 0.0540 |"))
            let json = try ReportSchema.decoder.decode(RunListing.self, from: Data(ReportRenderer.render(listing, format: .json).utf8))
            #expect(json == listing)

            let reports = try [Self.runID, "house-prices-b"].map { try RunReport.load($0, runsDirectory: directory).report }
            let comparison = RunComparison(reports: reports)
            #expect(comparison.runs.map(\.stepsToBest) == [4, 1])
            #expect(comparison.runs.map(\.bestMetric) == [0.12, 0.2])
            #expect(comparison.runs.map(\.inputTokens) == [7000, 1500])
            #expect(comparison.bestRun == Self.runID)
            let compared = try ReportRenderer.render(comparison, format: .text)
            #expect(compared.contains("\(Self.runID) *"))
            #expect(try ReportRenderer.render(comparison, format: .markdown).contains(
                "| **`\(Self.runID)`** | finished | 0.12 | 0.13 | 4 | 5 | 8200 | 0.0540 | 8m20s | 31.0s | 10m19s |"))
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(comparison, format: .json).utf8))
                    as? [String: Any])
            #expect(object["kind"] as? String == "comparison")
            #expect((object["runs"] as? [[String: Any]])?.first?["steps_to_best"] as? Int == 4)
        }
    }

    // MARK: The command

    /// Asserts a failed command: non-zero, one line on stderr holding `message`, no crash.
    private static func expectCleanFailure(_ result: CommandOutput, _ message: String) {
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
    }

    @Test func commandReportsARun() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory).close()
            let folder = directory.appendingPathComponent(Self.runID).path
            let text = try await CommandRunner.run(["report", folder])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("*     3 improve dddd4444  metric 0.12  test 0.13  4.0s  ← best\n"))
            #expect(!text.stdout.contains("\u{1B}["))

            let best = try await CommandRunner.run(["report", Self.runID, "--runs-dir", directory.path, "--best"])
            #expect(best.status == 0, "\(best.stderr)")
            #expect(best.stdout == Self.code("dddd4444"))

            let node = try await CommandRunner.run(["report", folder + "/run.sqlite", "--node", "eee", "--format", "json"])
            #expect(node.status == 0, "\(node.stderr)")
            #expect(node.stdout.contains("\"id\" : \"eeee5555\""))

            let out = directory.appendingPathComponent("summary.md")
            let markdown = try await CommandRunner.run(["report", folder, "--format", "markdown", "-o", out.path])
            #expect(markdown.status == 0 && markdown.stdout.isEmpty)
            #expect(try String(contentsOf: out, encoding: .utf8).contains("| nodes | 5 (3 good, 2 buggy) |"))

            let listing = try await CommandRunner.run(["report", "--runs-dir", directory.path])
            #expect(listing.status == 0 && listing.stdout.contains(Self.runID))

            let compare = try await CommandRunner.run(
                ["report", "--runs-dir", directory.path, "--compare", Self.runID, folder, "--format", "json"])
            #expect(compare.status == 0, "\(compare.stderr)")
            #expect(compare.stdout.contains("\"steps_to_best\" : 4"))
        }
    }

    @Test func commandRefusesBadInputInOneLine() async throws {
        try await Self.withTemporaryDirectory { directory in
            // Random bytes named run.sqlite.
            let noise = directory.appendingPathComponent("noise")
            try FileManager.default.createDirectory(at: noise, withIntermediateDirectories: true)
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<8_192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try bytes.write(to: noise.appendingPathComponent("run.sqlite"))
            Self.expectCleanFailure(try await CommandRunner.run(["report", noise.path]), "is not an SQLite database")

            // Someone else's SQLite database.
            let foreign = directory.appendingPathComponent("foreign")
            try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
            let queue = try DatabaseQueue(path: foreign.appendingPathComponent("run.sqlite").path)
            try await queue.write { db in
                try db.execute(sql: "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
                try db.execute(sql: "INSERT INTO customers (name) VALUES ('Ada')")
            }
            try queue.close()
            Self.expectCleanFailure(try await CommandRunner.run(["report", foreign.path]), "not an aide run")

            // A nonexistent path.
            Self.expectCleanFailure(
                try await CommandRunner.run(["report", directory.appendingPathComponent("nowhere").path, "--runs-dir", directory.path]),
                "no run")

            // A run from a newer aide.
            try Self.makeRun(in: directory).close()
            let newer = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            let writer = try DatabaseQueue(path: newer.path)
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
            }
            try writer.close()
            Self.expectCleanFailure(
                try await CommandRunner.run(["report", newer.path]), "comes from a newer aide")
            try FileManager.default.removeItem(at: newer.deletingLastPathComponent())

            // An unknown node, and --best of a run with no good node.
            try Self.makeRun(in: directory, steps: 2).close()
            let folder = directory.appendingPathComponent(Self.runID).path
            Self.expectCleanFailure(
                try await CommandRunner.run(["report", folder, "--node", "abc"]),
                "no node abc in run \(Self.runID) (it has 2 nodes)")
            try FileManager.default.removeItem(atPath: folder)
            try Self.makeRun(in: directory, steps: 0).close()
            Self.expectCleanFailure(try await CommandRunner.run(["report", folder, "--best"]), "has no good node")

            // A runs folder that does not exist.
            Self.expectCleanFailure(
                try await CommandRunner.run(["report", "--runs-dir", directory.appendingPathComponent("none").path]),
                "no runs folder \(directory.appendingPathComponent("none").path) (choose one with --runs-dir)")
        }
    }
}
