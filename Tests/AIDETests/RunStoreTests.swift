import AIDETesting
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AIDE

/// A flag one thread raises and another watches.
private final class Flag: Sendable {
    private let raised = Mutex(false)
    func set() { raised.withLock { $0 = true } }
    var isSet: Bool { raised.withLock { $0 } }
}

/// The run journal: round trips, transactions, concurrent readers, a killed writer, and files that
/// are not (or not yet) ours.
struct RunStoreTests {
    // MARK: Fixtures

    private static let runID = "run-2025-06-01-abcd"

    /// A fresh directory, removed when `body` returns.
    private static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-store-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    private static func withTemporaryDirectory<T: Sendable>(_ body: @Sendable (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-store-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    private static let spec = TaskSpec(
        name: "house-prices", goal: "Predict SalePrice.", data: "data",
        metric: MetricSpec(name: "RMSE of log SalePrice", direction: .minimize),
        grading: GradingSpec(answers: "answers.csv", idColumn: "Id", targetColumn: "SalePrice", metric: .rmseLog),
        budget: BudgetSpec(steps: 30, timeLimit: 3600, usd: 2.5),
        search: SearchSpec(seed: UInt64.max - 7))

    private static func makeRun() throws -> RunRecord {
        try RunRecord(
            id: runID, taskFile: "tasks/house-prices/task.yaml", spec: spec,
            startedAt: Date(timeIntervalSinceReferenceDate: 770_000_000.123_456_7))
    }

    /// A store at `directory/<run>/run.sqlite` holding the fixture run.
    private static func makeStore(in directory: URL) throws -> RunStore {
        let store = try RunStore(path: RunStore.fileURL(runsDirectory: directory, runID: runID))
        try store.createRun(makeRun())
        return store
    }

    /// A node with every field set, the same for the same step (so a reader can check it exactly).
    private static func fullNode(step: Int) -> Node {
        let created = Date(timeIntervalSinceReferenceDate: 770_000_100.987_654_321 + Double(step) * 61.003_7)
        return Node(
            id: "node-\(step)", parentID: step == 0 ? nil : "node-\(step - 1)", step: step,
            stage: step == 0 ? .draft : (step % 2 == 0 ? .improve : .debug),
            plan: "Plan \(step): gradient boosting on log target — \"quoted\", ünïcode, 🚀",
            code: "import pandas as pd\nprint('step \(step)')\n",
            execution: ExecutionResult(
                output: "Validation RMSE: 0.1\(step)\n", outputBytes: 4_096 + step, exitCode: 1, signal: 9,
                timedOut: true, duration: 12.345_678_9 + Double(step), exceptionType: "ValueError",
                traceback: "Traceback (most recent call last):\n  ValueError: bad \(step)"),
            review: Review(isBug: true, summary: "Raised ValueError at step \(step).", metric: 0.123_456_789 + Double(step)),
            metric: 0.1 + Double(step) / 1_000, metricSource: .review, testScore: 0.13 + Double(step) / 997,
            isBuggy: true, bugReasons: ["raised ValueError", "no submission", "quote \" and [bracket]"],
            debugDepth: step % 4, error: "grading failed: \(step)", createdAt: created,
            finishedAt: created.addingTimeInterval(42.000_001_5))
    }

    /// A node with every optional nil and no execution or review.
    private static func bareNode(step: Int) -> Node {
        Node(
            id: "bare-\(step)", parentID: nil, step: step, stage: .draft, plan: "", code: "", isBuggy: false,
            createdAt: Date(), finishedAt: Date())
    }

    private static func calls(for node: Node) -> [LLMCallRecord] {
        let result = QueryResult(
            output: .text("```python\nprint(1)\n```"), latency: 3.25, lastAttemptLatency: 1.5,
            usage: TokenUsage(input: 1_000 + node.step, output: 200, cacheRead: 800, cacheWrite: 100, reasoning: 50),
            costUSD: 0.0125,
            info: QueryInfo(
                provider: .anthropic, model: "claude-sonnet-4-5-20250929", stopReason: "end_turn",
                finishReason: .stop, attempts: 2))
        let code = LLMCallRecord(
            runID: runID, nodeID: nil, step: node.step, purpose: CallPurpose(node.stage), model: "claude-sonnet-4-5",
            result: result, createdAt: node.createdAt)
        let review = LLMCallRecord(
            runID: runID, nodeID: node.id, step: node.step, purpose: .review, model: "gpt-4o", provider: .openai,
            error: "HTTP 529: overloaded", latency: 30.5, attempts: 3, createdAt: node.finishedAt)
        return [code, review]
    }

    private static func metrics(step: Int, best: String? = nil) -> MetricsRecord {
        MetricsRecord(
            runID: runID, step: step, bestMetric: best == nil ? nil : 0.125, bestTestScore: best == nil ? nil : 0.131,
            bestNodeID: best, inputTokens: 1_000 * (step + 1), outputTokens: 200 * (step + 1),
            costUSD: 0.0125 * Double(step + 1), elapsed: 61.5 * Double(step + 1), nodes: step + 1, buggyNodes: step,
            recordedAt: Date(timeIntervalSinceReferenceDate: 770_000_200.5 + Double(step)))
    }

    /// Commits the full node of `step` with its two calls and metrics.
    private static func commitFull(_ store: RunStore, step: Int) throws {
        let node = fullNode(step: step)
        try store.commit(node: node, calls: calls(for: node), metrics: metrics(step: step, best: node.id), bestNodeID: node.id)
    }

    /// What is wrong with `snapshot` as a state of a store written by `commitFull` (nothing, when consistent).
    private static func problems(_ snapshot: RunSnapshot) -> [String] {
        var problems: [String] = []
        let n = snapshot.nodes.count
        if snapshot.metrics.count != n { problems.append("\(n) nodes, \(snapshot.metrics.count) metrics rows") }
        if snapshot.calls.count != 2 * n { problems.append("\(n) nodes, \(snapshot.calls.count) calls") }
        if snapshot.nodes.map(\.step) != Array(0..<n) { problems.append("node steps \(snapshot.nodes.map(\.step))") }
        if snapshot.metrics.map(\.step) != Array(0..<snapshot.metrics.count) { problems.append("metrics steps") }
        let byNode = Dictionary(grouping: snapshot.calls, by: { $0.nodeID ?? "" })
        for node in snapshot.nodes {
            if node != fullNode(step: node.step) { problems.append("\(node.id) differs from what was committed") }
            if byNode[node.id]?.count != 2 { problems.append("\(node.id) has \(byNode[node.id]?.count ?? 0) calls") }
        }
        if let last = snapshot.nodes.last, snapshot.run?.bestNodeID != last.id {
            problems.append("best node \(snapshot.run?.bestNodeID ?? "nil") after \(last.id)")
        }
        return problems
    }

    private static func checkConsistent(_ snapshot: RunSnapshot, sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = problems(snapshot)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }

    // MARK: Round trips

    @Test func nodesRoundTripWithEveryFieldAndWithOptionalsNil() throws {
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            var partial = Self.fullNode(step: 2)
            partial.id = "partial"
            partial.parentID = "node-0"
            partial.execution = ExecutionResult(output: "", outputBytes: 0, exitCode: nil, duration: 0)
            partial.review = Review(isBug: false, summary: "", metric: nil)
            partial.bugReasons = []
            let nodes = [Self.fullNode(step: 0), Self.bareNode(step: 1), partial]
            for node in nodes {
                try store.commit(node: node, calls: [], metrics: Self.metrics(step: node.step), bestNodeID: nil)
            }
            let stored = try store.nodes()
            #expect(stored == nodes)
            #expect(stored[1].execution == nil && stored[1].review == nil)
            #expect(stored[2].execution?.exitCode == nil && stored[2].execution?.signal == nil)
            #expect(stored[2].review?.metric == nil)
            #expect(try store.node(id: "bare-1") == nodes[1])
            #expect(try store.node(id: "missing") == nil)

            // No execution is NULLs in every execution column; an empty one is not.
            let row = try store.read { db in
                try Row.fetchOne(db, sql: "SELECT output, exec_time, timed_out, review_is_bug, bug_reasons FROM nodes WHERE id = 'bare-1'")
            }
            #expect(row?["output"] as String? == nil && row?["exec_time"] as Double? == nil)
            #expect(row?["timed_out"] as Bool? == nil && row?["review_is_bug"] as Bool? == nil)
            #expect(row?["bug_reasons"] as String? == "[]")
            #expect(try store.read { db in try String.fetchOne(db, sql: "SELECT output FROM nodes WHERE id = 'partial'") } == "")
        }
    }

    /// Reports read rows by position (RunStore.summarySnapshot); they must read back what the
    /// Codable reads do, for every field and for nils, with only the long texts left out.
    /// A run written before migration v2 (no `other_parent_id`): reports read it as it is, both
    /// ways, and opening it for writing (a resume) upgrades it.
    @Test func aRunFromBeforeTheCrossoverMigrationIsReadAndUpgraded() throws {
        try Self.withTemporaryDirectory { directory in
            let current = try Self.makeStore(in: directory)
            for step in 0..<3 { try Self.commitFull(current, step: step) }
            var expected = try current.snapshot()
            // Columns of later migrations (v3: what the provider said) read as nil from the old file.
            expected.calls = expected.calls.map { call in
                var call = call
                (call.answeredModel, call.responseID, call.systemFingerprint) = (nil, nil, nil)
                (call.droppedOptions, call.attemptFailures, call.cutOffRetries) = (nil, nil, nil)
                return call
            }

            // The same rows in a file that has only the first migration.
            let old = directory.appendingPathComponent("old.sqlite")
            let queue = try DatabaseQueue(path: old.path)
            try RunMigrations.migrator.migrate(queue, upTo: RunMigrations.v1)
            try queue.writeWithoutTransaction { db in
                // Rows go in table by table; runs.best_node_id names a node not copied yet.
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                try db.execute(sql: "ATTACH DATABASE ? AS current", arguments: [current.path.path])
                for table in ["runs", "nodes", "llm_calls", "metrics"] {
                    let columns = try db.columns(in: table, in: "main").map { "\"\($0.name)\"" }.joined(separator: ", ")
                    try db.execute(sql: "INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM current.\(table)")
                }
                try db.execute(sql: "DETACH DATABASE current")
            }
            try queue.close()
            #expect(try DatabaseQueue(path: old.path).read { try $0.columns(in: "nodes").map(\.name) }.contains("other_parent_id") == false)

            let reader = try RunStore.openReadOnly(path: old)
            #expect(try reader.snapshot() == expected)
            #expect(try reader.summarySnapshot().nodes.map(\.id) == expected.nodes.map(\.id))
            let writer = try RunStore(path: old)
            #expect(try writer.read { try $0.columns(in: "nodes").map(\.name) }.contains("other_parent_id"))
            #expect(try writer.snapshot() == expected)
        }
    }

    @Test func summarySnapshotReadsEveryFieldButTheLongTexts() throws {
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            var partial = Self.fullNode(step: 2)
            partial.id = "partial"
            partial.parentID = "node-0"
            partial.execution = ExecutionResult(output: "", outputBytes: 0, exitCode: nil, duration: 0)
            partial.review = Review(isBug: false, summary: "", metric: nil)
            var last = Self.fullNode(step: 3)
            last.parentID = "partial"
            last.otherParentID = "node-0"
            // Committed out of step order (as parallel workers may): every read gives step order.
            for node in [Self.fullNode(step: 0), partial, Self.bareNode(step: 1), last] {
                let calls = node.step % 3 == 0 ? Self.calls(for: node) : []
                let best = node.step == 3 ? node.id : nil
                try store.commit(node: node, calls: calls, metrics: Self.metrics(step: node.step, best: best), bestNodeID: best)
            }
            let full = try store.snapshot()
            let summary = try store.summarySnapshot()
            #expect(summary.run == full.run)
            #expect(summary.calls == full.calls && summary.calls.count == 4)
            #expect(summary.metrics == full.metrics && summary.metrics.count == 4)
            #expect(summary.nodes.count == full.nodes.count)
            #expect(full.nodes.map(\.step) == [0, 1, 2, 3] && summary.nodes.map(\.step) == [0, 1, 2, 3])
            #expect(try full.metrics.map(\.step) == [0, 1, 2, 3] && store.nodes().map(\.step) == [0, 1, 2, 3])
            for (short, whole) in zip(summary.nodes, full.nodes) {
                var expected = whole
                expected.plan = ""
                expected.code = ""
                expected.execution?.output = ""
                expected.execution?.traceback = nil
                #expect(short == expected, "\(whole.id)")
            }
            #expect(summary.nodes[1].execution == nil && summary.nodes[1].review == nil)
            #expect(summary.nodes[3].otherParentID == "node-0")

            // The streaming read gives the run, calls and metrics first, then every node whole, in
            // step order, and returns the summary made from the same read.
            var seen: [Node] = []
            var starts = 0
            let streamed = try store.eachNode(start: { snapshot in
                starts += 1
                var withoutNodes = summary
                withoutNodes.nodes = []
                #expect(snapshot == withoutNodes)
            }) { seen.append($0) }
            #expect(starts == 1)
            #expect(seen == full.nodes)
            #expect(streamed == summary)
        }
    }

    @Test func timestampsRoundTripExactlyAndReadInSQLite() throws {
        var dates = [
            Date(timeIntervalSince1970: 1_700_000_000), Date(timeIntervalSince1970: 1_700_000_000.5),
            Date(timeIntervalSinceReferenceDate: 770_000_100.987_654_321), Date(), Date().addingTimeInterval(-86_400 * 400),
            Date(timeIntervalSince1970: 0.25), Date(timeIntervalSince1970: -1.75),
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            dates.append(Date(timeIntervalSinceReferenceDate: Double.random(in: 0..<2_000_000_000, using: &generator)))
        }
        for date in dates {
            let text = Timestamp.text(date)
            #expect(Timestamp.date(text) == date, "\(text) for \(date.timeIntervalSinceReferenceDate)")
        }
        #expect(Timestamp.text(Date(timeIntervalSince1970: 1_700_000_000)) == "2023-11-14 22:13:20")
        #expect(Timestamp.text(Date(timeIntervalSince1970: 1_700_000_000.5)) == "2023-11-14 22:13:20.5")
        #expect(Timestamp.date("2023-11-14T22:13:20.25Z") == Date(timeIntervalSince1970: 1_700_000_000.25))
        #expect(Timestamp.date("yesterday") == nil)
        #expect(Timestamp.date("2023-11-14 22:13:20.") == nil && Timestamp.date("2023-11-14 22:13:20.5x") == nil)
        // Fractions of 1 to 20 digits read as the decimal they spell.
        let midnight = try #require(Timestamp.date("2023-11-14 00:00:00")).timeIntervalSinceReferenceDate
        for length in 1...20 {
            let digits = String((0..<length).map { _ in "0123456789".randomElement(using: &generator)! })
            let read = try #require(Timestamp.date("2023-11-14 00:00:00.\(digits)Z"))
            #expect(read.timeIntervalSinceReferenceDate == midnight + Double("0.\(digits)")!, "\(digits)")
        }

        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            try Self.commitFull(store, step: 0)
            let node = Self.fullNode(step: 0)
            let row = try store.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT CAST(strftime('%s', created_at) AS INTEGER) AS unix,
                           (julianday(finished_at) - julianday(created_at)) * 86400.0 AS seconds
                    FROM nodes
                    """)
            }
            #expect(row?["unix"] as Int? == Int(node.createdAt.timeIntervalSince1970.rounded(.down)))
            let seconds: Double = try #require(row?["seconds"])
            #expect(abs(seconds - 42.000_001_5) < 0.001)
        }
    }

    @Test func callsMetricsAndTotals() throws {
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            try Self.commitFull(store, step: 0)
            try Self.commitFull(store, step: 1)
            var outside = LLMCallRecord(
                runID: Self.runID, nodeID: nil, step: 2, purpose: .draft, model: "claude-sonnet-4-5",
                provider: .anthropic, error: "no code block", latency: 0.5)
            try store.recordCall(outside)

            let all = try store.calls(nodeID: nil)
            #expect(all.count == 5)
            let ids = all.compactMap(\.id)
            #expect(ids.count == 5 && ids == ids.sorted())
            outside.id = all.last?.id
            #expect(all.last == outside)
            let ofFirst = try store.calls(nodeID: "node-0")
            #expect(ofFirst.count == 2)
            var expected = Self.calls(for: Self.fullNode(step: 0))
            expected[0].nodeID = "node-0"  // a call without a node in a commit is the node's
            expected[0].id = ofFirst[0].id
            expected[1].id = ofFirst[1].id
            #expect(ofFirst == expected)

            let success = ofFirst[0]
            #expect(success.provider == .anthropic && success.model == "claude-sonnet-4-5")
            #expect(success.inputTokens == 1_000 && success.outputTokens == 200)
            #expect(success.cacheReadTokens == 800 && success.cacheWriteTokens == 100 && success.reasoningTokens == 50)
            #expect(success.costUSD == 0.0125 && success.latency == 3.25 && success.lastAttemptLatency == 1.5)
            #expect(success.stopReason == "end_turn" && success.finishReason == "stop" && success.attempts == 2)
            #expect(success.error == nil && success.purpose == .draft)
            let failure = ofFirst[1]
            #expect(failure.error == "HTTP 529: overloaded" && failure.inputTokens == 0 && failure.costUSD == nil)
            #expect(failure.cacheReadTokens == nil && failure.lastAttemptLatency == 30.5 && failure.attempts == 3)

            #expect(try store.metrics() == [Self.metrics(step: 0, best: "node-0"), Self.metrics(step: 1, best: "node-1")])

            let totals = try store.totals()
            #expect(totals.inputTokens == 1_000 + 1_001)
            #expect(totals.outputTokens == 400)
            #expect(abs(totals.costUSD - 0.025) < 1e-12)
            #expect(totals.calls == 5)
        }
    }

    /// The provider column keeps the texts written before it was typed: every one reads back as its
    /// case, a text no aide writes is an error, and a model name that routes nowhere is `unknown`.
    @Test func storedProviderTextsReadAsTheirCase() throws {
        #expect(CallProvider.allCases.map(\.rawValue)
            == ["anthropic", "openai", "openrouter", "gemini", "compatible", "scripted", "unknown"])
        #expect(Provider.allCases.allSatisfy { CallProvider($0).rawValue == $0.rawValue })
        #expect(CallProvider(model: "claude-sonnet-4-5") == .anthropic && CallProvider(model: "gpt-4o") == .openai)
        #expect(CallProvider(model: "anthropic/") == .unknown, "a provider but no model")
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            let texts = CallProvider.allCases.map(\.rawValue)
            for step in texts.indices {
                try store.recordCall(
                    LLMCallRecord(
                        runID: Self.runID, nodeID: nil, step: step, purpose: .draft, model: "m", provider: .anthropic,
                        error: "failed", latency: 1))
            }
            // The texts as an older aide wrote them, straight into the column.
            try store.pool.write { db in
                for (step, text) in texts.enumerated() {
                    try db.execute(sql: "UPDATE llm_calls SET provider = ? WHERE step = ?", arguments: [text, step])
                }
            }
            #expect(try store.calls(nodeID: nil).map(\.provider) == CallProvider.allCases)
            try store.pool.write { db in try db.execute(sql: "UPDATE llm_calls SET provider = 'mistral' WHERE step = 0") }
            #expect(throws: (any Error).self) { try store.calls(nodeID: nil) }
        }
    }

    @Test func totalsOfAnEmptyRunAreZero() throws {
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            let totals = try store.totals()
            #expect(totals.inputTokens == 0 && totals.outputTokens == 0 && totals.costUSD == 0 && totals.calls == 0)
            #expect(try store.nodes().isEmpty && store.metrics().isEmpty && store.calls(nodeID: nil).isEmpty)
        }
    }

    @Test func runStatusUpdates() throws {
        try Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            let store = try RunStore(path: path)
            #expect(try store.run() == nil)
            #expect(throws: StoreError.noRun(path: path.path)) { try store.touchRun() }
            #expect(throws: StoreError.noRun(path: path.path)) {
                try store.updateRun(status: .failed, stopReason: "boom", bestNodeID: nil, finishedAt: nil)
            }
            #expect(throws: StoreError.noRun(path: path.path)) { try Self.commitFull(store, step: 0) }

            let run = try Self.makeRun()
            try store.createRun(run)
            #expect(try store.run() == run)
            #expect(try store.run()?.spec() == Self.spec)
            #expect(try store.run()?.seed == UInt64.max - 7)
            #expect(run.status == .running && run.updatedAt == run.startedAt && run.aideVersion == AIDEVersion.current)
            #expect(throws: StoreError.runExists(path: path.path, runID: Self.runID)) { try store.createRun(run) }

            try Self.commitFull(store, step: 0)
            let committed = try #require(try store.run())
            #expect(committed.bestNodeID == "node-0")
            #expect(committed.updatedAt > run.updatedAt)

            try store.touchRun()
            let touched = try #require(try store.run())
            #expect(touched.updatedAt >= committed.updatedAt)

            let finished = Date(timeIntervalSinceReferenceDate: 770_003_600.000_123)
            try store.updateRun(status: .finished, stopReason: "steps budget", bestNodeID: nil, finishedAt: finished)
            let done = try #require(try store.run())
            #expect(done.status == .finished && done.stopReason == "steps budget")
            #expect(done.finishedAt == finished)
            #expect(done.bestNodeID == "node-0")  // nil leaves the best node alone

            // Resuming clears the stop reason and finish time.
            try store.updateRun(status: .running, stopReason: nil, bestNodeID: nil, finishedAt: nil)
            let resumed = try #require(try store.run())
            #expect(resumed.status == .running && resumed.stopReason == nil && resumed.finishedAt == nil)

            try store.updateRun(status: .interrupted, stopReason: "interrupted", bestNodeID: "node-0", finishedAt: finished)
            #expect(try store.run()?.status == .interrupted)
            #expect(try store.read { db in try String.fetchOne(db, sql: "SELECT status FROM runs") } == "interrupted")
        }
    }

    // MARK: Transactions and durability

    @Test func aFailedCommitWritesNothing() throws {
        try Self.withTemporaryDirectory { directory in
            let store = try Self.makeStore(in: directory)
            try Self.commitFull(store, step: 0)
            let before = try store.snapshot()

            // The metrics row fails last (its step is taken): the node and calls go too.
            let node = Self.fullNode(step: 1)
            #expect(throws: DatabaseError.self) {
                try store.commit(node: node, calls: Self.calls(for: node), metrics: Self.metrics(step: 0), bestNodeID: node.id)
            }
            // A call of another node.
            var stray = Self.calls(for: node)
            stray[1].nodeID = "node-0"
            #expect(throws: StoreError.inconsistentCommit(.callOfNode("node-0", committedNode: node.id))) {
                try store.commit(node: node, calls: stray, metrics: Self.metrics(step: 1), bestNodeID: node.id)
            }
            // A call, or the metrics row, of another run.
            var foreign = Self.calls(for: node)
            foreign[0].runID = "other-run"
            #expect(throws: StoreError.inconsistentCommit(.call(ofRun: "other-run", storeRun: Self.runID))) {
                try store.commit(node: node, calls: foreign, metrics: Self.metrics(step: 1), bestNodeID: node.id)
            }
            var foreignMetrics = Self.metrics(step: 1)
            foreignMetrics.runID = "other-run"
            #expect(throws: StoreError.inconsistentCommit(.metrics(ofRun: "other-run", storeRun: Self.runID))) {
                try store.commit(node: node, calls: Self.calls(for: node), metrics: foreignMetrics, bestNodeID: node.id)
            }
            // A parent that does not exist.
            var orphan = node
            orphan.parentID = "nowhere"
            #expect(throws: DatabaseError.self) {
                try store.commit(node: orphan, calls: [], metrics: Self.metrics(step: 1), bestNodeID: node.id)
            }
            #expect(try store.snapshot() == before)
            Self.checkConsistent(try store.snapshot())
        }
    }

    @Test func reopeningSeesEveryCommit() throws {
        try Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            let count = 25
            do {
                let store = try Self.makeStore(in: directory)
                for step in 0..<count { try Self.commitFull(store, step: step) }
                try store.updateRun(status: .finished, stopReason: "steps budget", bestNodeID: nil, finishedAt: Date())
                try store.close()
            }
            let reopened = try RunStore(path: path)
            let snapshot = try reopened.snapshot()
            #expect(snapshot.nodes.count == count)
            Self.checkConsistent(snapshot)
            #expect(snapshot.run?.status == .finished && snapshot.run?.stopReason == "steps budget")
            #expect(try reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
        }
    }

    #if os(Linux)
    /// The writer half of `aKilledWriterLosesNothingCommitted`: runs only in the child process the
    /// test starts (the test binary again, filtered to this test), committing until it is killed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["AIDE_STORE_CRASH_CHILD"] != nil))
    func crashChildCommitsUntilKilled() throws {
        let path = try #require(ProcessInfo.processInfo.environment["AIDE_STORE_CRASH_CHILD"])
        let store = try RunStore(path: URL(fileURLWithPath: path))
        let deadline = Date().addingTimeInterval(900)  // never outlive a parent that died
        var step = try store.nodes().count
        while Date() < deadline {
            try Self.commitFull(store, step: step)
            step += 1
        }
    }

    @Test func aKilledWriterLosesNothingCommitted() async throws {
        try await Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            try Self.makeStore(in: directory).close()

            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = ["--testing-library", "swift-testing", "--filter", "crashChildCommitsUntilKilled"]
            var environment = ProcessInfo.processInfo.environment
            environment["AIDE_STORE_CRASH_CHILD"] = path.path
            child.environment = environment
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()

            // Watch through a read-only store until the child has committed a good many steps.
            let reader = try await Self.waitForStore(at: path)
            var seen = 0
            try? await Poll.until("the writer committed 150 steps") {
                let snapshot = try reader.snapshot()
                Self.checkConsistent(snapshot)
                seen = snapshot.nodes.count
                return seen >= 150 || !child.isRunning
            }
            #expect(child.isRunning, "the writer exited on its own")
            kill(child.processIdentifier, SIGKILL)
            await offPool { child.waitUntilExit() }
            #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)
            try reader.close()

            // Every commit the reader saw is there, every commit is whole, and the file goes on.
            let recovered = try RunStore(path: path)
            let snapshot = try recovered.snapshot()
            #expect(snapshot.nodes.count >= seen && seen >= 150)
            Self.checkConsistent(snapshot)
            try Self.commitFull(recovered, step: snapshot.nodes.count)
            Self.checkConsistent(try recovered.snapshot())
        }
    }

    /// Opens `path` read-only once the child's first commit made it a run with nodes.
    private static func waitForStore(at path: URL) async throws -> RunStore {
        let reader = try RunStore.openReadOnly(path: path)
        try await Poll.until("the writer's first commit") { try !reader.nodes().isEmpty }
        return reader
    }
    #endif

    // MARK: Concurrent readers

    @Test func concurrentReadersAlwaysSeeWholeCommits() async throws {
        try await Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            let writer = try Self.makeStore(in: directory)
            let reader = try RunStore.openReadOnly(path: path)
            let total = 300
            let finished = Flag()

            async let written: Result<Void, any Error> = offPool {
                defer { finished.set() }
                return Result { for step in 0..<total { try Self.commitFull(writer, step: step) } }
            }
            // Checked on the reader's own thread; failures are collected, not expected there.
            let reads: Result<(counts: [Int], problems: [String]), any Error> = await offPool {
                Result {
                    var counts: [Int] = []
                    var problems: [String] = []
                    while !finished.isSet {
                        let snapshot = try reader.snapshot()
                        problems += Self.problems(snapshot)
                        counts.append(snapshot.nodes.count)
                    }
                    return (counts, problems)
                }
            }
            try await written.get()
            let (counts, problems) = try reads.get()
            #expect(problems.isEmpty, "\(problems.prefix(5))")
            #expect(counts.count > 1)
            #expect(counts == counts.sorted(), "a reader never sees a commit vanish")
            #expect(counts.contains { $0 > 0 && $0 < total }, "the reader saw the run mid-way")
            let last = try reader.snapshot()
            #expect(last.nodes.count == total)
            Self.checkConsistent(last)
        }
    }

    @Test func anOpenReadTransactionDoesNotHoldUpTheWriter() throws {
        try Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            let writer = try Self.makeStore(in: directory)
            try Self.commitFull(writer, step: 0)
            let reader = try RunStore.openReadOnly(path: path)
            try reader.pool.read { db in
                let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes")
                // Without WAL these commits would wait out the 10 s busy timeout, then fail (and throw).
                for step in 1...5 { try Self.commitFull(writer, step: step) }
                // The reader keeps its snapshot until its transaction ends.
                #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes") == before)
            }
            #expect(try reader.nodes().count == 6)
        }
    }

    // MARK: Read-only and foreign files

    @Test func aReadOnlyStoreCannotWrite() throws {
        try Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            try Self.commitFull(try Self.makeStore(in: directory), step: 0)
            // The writer is gone; the read-only store opens the closed file.
            let reader = try RunStore.openReadOnly(path: path)
            #expect(reader.isReadOnly)
            let error = StoreError.readOnly(path: path.path)
            #expect(throws: error) { try reader.createRun(Self.makeRun()) }
            #expect(throws: error) { try Self.commitFull(reader, step: 1) }
            #expect(throws: error) { try reader.touchRun() }
            #expect(throws: error) {
                try reader.updateRun(status: .failed, stopReason: "x", bestNodeID: nil, finishedAt: nil)
            }
            #expect(throws: error) { try reader.recordCall(Self.calls(for: Self.fullNode(step: 1))[1]) }
            #expect(error.description.contains("read-only"))
            // Below the API, SQLite refuses too.
            #expect(throws: DatabaseError.self) {
                try reader.pool.write { db in try db.execute(sql: "DELETE FROM nodes") }
            }
            #expect(try reader.nodes() == [Self.fullNode(step: 0)])
            #expect(throws: StoreError.notFound(path: directory.appendingPathComponent("none.sqlite").path)) {
                try RunStore.openReadOnly(path: directory.appendingPathComponent("none.sqlite"))
            }
        }
    }

    @Test func aFileThatIsNotSQLiteIsAClearErrorAndStaysUntouched() throws {
        try Self.withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("run.sqlite")
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<8_192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try bytes.write(to: path)
            let opens: [() throws -> Void] = [{ _ = try RunStore(path: path) }, { _ = try RunStore.openReadOnly(path: path) }]
            for open in opens {
                let error = try #require(throws: StoreError.self) { try open() }
                guard case .notADatabase(let errorPath, _) = error else {
                    Issue.record("expected notADatabase, got \(error)")
                    continue
                }
                #expect(errorPath == path.path)
                #expect(error.description.contains("is not an SQLite database"), "\(error)")
            }
            #expect(try Data(contentsOf: path) == bytes)
            #expect(!FileManager.default.fileExists(atPath: path.path + "-wal"))
        }
    }

    @Test func anotherSQLiteDatabaseIsNotAnAideRun() throws {
        try Self.withTemporaryDirectory { directory in
            let plain = directory.appendingPathComponent("plain.sqlite")
            try DatabaseQueue(path: plain.path).write { db in
                try db.create(table: "player") { t in
                    t.autoIncrementedPrimaryKey("id")
                    t.column("name", .text)
                }
                try db.execute(sql: "INSERT INTO player (name) VALUES ('Arthur')")
            }
            // Another GRDB application, with migrations of its own.
            let app = directory.appendingPathComponent("app.sqlite")
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in try db.create(table: "note") { t in t.column("text", .text) } }
            try migrator.migrate(DatabaseQueue(path: app.path))
            let empty = directory.appendingPathComponent("empty.sqlite")
            try Data().write(to: empty)

            for path in [plain, app] {
                #expect(throws: StoreError.notAnAideRun(path: path.path)) { try RunStore(path: path) }
                #expect(throws: StoreError.notAnAideRun(path: path.path)) { try RunStore.openReadOnly(path: path) }
                // Left as it was: not switched to WAL, no aide tables.
                let queue = try DatabaseQueue(path: path.path)
                #expect(try queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "delete")
                #expect(try queue.read { db in try db.tableExists("runs") } == false)
            }
            #expect(StoreError.notAnAideRun(path: "x").description.contains("not an aide run"))
            // An empty file is a new database for writing, and nothing to read.
            #expect(throws: StoreError.notAnAideRun(path: empty.path)) { try RunStore.openReadOnly(path: empty) }
            #expect(try RunStore(path: empty).run() == nil)
        }
    }

    @Test func aFileFromANewerAideIsAClearError() throws {
        try Self.withTemporaryDirectory { directory in
            let path = RunStore.fileURL(runsDirectory: directory, runID: Self.runID)
            do {
                let store = try Self.makeStore(in: directory)
                try Self.commitFull(store, step: 0)
                try store.pool.write { db in
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
                }
                try store.close()
            }
            let expected = StoreError.newerSchema(path: path.path, unknownMigrations: ["v9-from-the-future"])
            #expect(throws: expected) { try RunStore(path: path) }
            #expect(throws: expected) { try RunStore.openReadOnly(path: path) }
            #expect(expected.description.contains("comes from a newer aide"))
            #expect(expected.description.contains("v9-from-the-future"))
        }
    }

    // MARK: docs/SCHEMA.md

    /// A small run as the search writes one: drafts, a bug and its fix, improvements, a timeout
    /// whose review failed, an answer without code, and a step whose only call failed for good.
    private static func writeRealisticRun(to path: URL) throws {
        let start = Date(timeIntervalSince1970: 1_748_779_200)  // 2025-06-01 12:00:00 UTC
        let store = try RunStore(path: path)
        var spec = Self.spec
        spec.budget = BudgetSpec(steps: 8, timeLimit: 3600, usd: 2.5)
        spec.search = SearchSpec(seed: 42)
        spec.agent = AgentSpec(codeModel: "claude-sonnet-4-5", feedbackModel: "claude-haiku-4-5")
        let runID = "house-prices-20250601-120000-7f3a"
        try store.createRun(RunRecord(id: runID, taskFile: "tasks/house-prices/task.yaml", spec: spec, startedAt: start))

        struct Step {
            var id: String, parent: String?, stage: Stage, plan: String, execution: ExecutionResult?
            var review: Review?, test: Double?, reasons: [String], depth: Int = 0, error: String? = nil
            var codeTokens: (Int, Int), reviewTokens: (Int, Int)?, reviewError: String? = nil, seconds: Double
        }
        func ran(_ output: String, _ duration: Double, exit: Int32? = 0, exception: String? = nil) -> ExecutionResult {
            ExecutionResult(
                output: output, outputBytes: output.utf8.count, exitCode: exit, signal: exit == nil ? 9 : nil,
                timedOut: exit == nil, duration: duration, exceptionType: exception,
                traceback: exception.map { "Traceback (most recent call last):\n  File \"runfile.py\", line 31\n\($0)" })
        }
        let steps = [
            Step(
                id: "a1f0c2d4", parent: nil, stage: .draft, plan: "LightGBM on log1p(SalePrice), one-hot categoricals.",
                execution: ran("5-fold RMSE (log): 0.1312\n", 48.2),
                review: Review(isBug: false, summary: "LightGBM, 5-fold CV RMSE 0.1312.", metric: 0.1312), test: 0.1335,
                reasons: [], codeTokens: (2_410, 1_180), reviewTokens: (1_960, 140), seconds: 95),
            Step(
                id: "b7e91a03", parent: nil, stage: .draft, plan: "Ridge regression on scaled numeric features.",
                execution: ran("KeyError: 'GarageYrBlt'\n", 2.9, exit: 1, exception: "KeyError"),
                review: Review(isBug: true, summary: "KeyError: GarageYrBlt dropped before use.", metric: nil), test: nil,
                reasons: ["raised KeyError", "no submission"], codeTokens: (2_410, 960), reviewTokens: (2_230, 120),
                seconds: 41),
            Step(
                id: "c3d5e8f1", parent: "b7e91a03", stage: .debug, plan: "Fill GarageYrBlt before dropping columns.",
                execution: ran("CV RMSE: 0.1405\n", 3.4),
                review: Review(isBug: false, summary: "Ridge, CV RMSE 0.1405.", metric: 0.1405), test: 0.1421,
                reasons: [], depth: 1, codeTokens: (3_020, 1_010), reviewTokens: (1_890, 110), seconds: 52),
            Step(
                id: "d9a2b6c7", parent: "a1f0c2d4", stage: .improve, plan: "Add TotalSF and log-transform skewed features.",
                execution: ran("5-fold RMSE (log): 0.1268\n", 51.7),
                review: Review(isBug: false, summary: "Feature engineering lowers CV RMSE to 0.1268.", metric: 0.1268),
                test: 0.1290, reasons: [], codeTokens: (3_540, 1_240), reviewTokens: (2_010, 130), seconds: 104),
            Step(
                id: "e4f7a1b9", parent: "d9a2b6c7", stage: .improve, plan: "Grid-search 400 LightGBM configurations.",
                execution: ran("fitting 400 candidates...\n", 600.0, exit: nil), review: nil, test: nil,
                reasons: ["timed out after 600 s"], error: "review call failed: HTTP 529 overloaded_error",
                codeTokens: (3_610, 1_420), reviewTokens: nil, reviewError: "HTTP 529 overloaded_error", seconds: 655),
            Step(
                id: "f0b3c8d2", parent: nil, stage: .draft, plan: "", execution: nil, review: nil, test: nil,
                reasons: ["no code block in the answer"], error: "no code block in the model's answer",
                codeTokens: (2_410, 450), reviewTokens: nil, seconds: 18),
        ]

        var clock = start
        var tokens = (input: 0, output: 0)
        var cost = 0.0
        var made: [Node] = []
        func price(_ model: String, _ input: Int, _ output: Int) -> Double {
            let (perIn, perOut) = model.contains("haiku") ? (1.0, 5.0) : (3.0, 15.0)
            return (Double(input) * perIn + Double(output) * perOut) / 1_000_000
        }
        for (index, step) in steps.enumerated() {
            let created = clock
            clock = clock.addingTimeInterval(step.seconds)
            let good = step.review.map { !$0.isBug } ?? false
            let node = Node(
                id: step.id, parentID: step.parent, step: index, stage: step.stage, plan: step.plan,
                code: step.execution == nil ? "" : "import pandas as pd\n# \(step.plan)\n", execution: step.execution,
                review: step.review, metric: good ? step.review?.metric : nil, metricSource: good ? .review : nil,
                testScore: step.test, isBuggy: !good, bugReasons: step.reasons, debugDepth: step.depth, error: step.error,
                createdAt: created, finishedAt: clock)
            made.append(node)
            var calls = [LLMCallRecord(
                runID: runID, nodeID: node.id, step: index, purpose: CallPurpose(step.stage), model: "claude-sonnet-4-5",
                result: QueryResult(
                    output: .text("..."), latency: 20 + Double(step.codeTokens.1) / 60,
                    lastAttemptLatency: 20 + Double(step.codeTokens.1) / 60,
                    usage: TokenUsage(input: step.codeTokens.0, output: step.codeTokens.1, cacheRead: index == 0 ? 0 : 1_900),
                    costUSD: price("sonnet", step.codeTokens.0, step.codeTokens.1),
                    info: QueryInfo(provider: .anthropic, model: "claude-sonnet-4-5-20250929", stopReason: "end_turn", finishReason: .stop)),
                createdAt: created.addingTimeInterval(1))]
            if let (input, output) = step.reviewTokens {
                calls.append(LLMCallRecord(
                    runID: runID, nodeID: node.id, step: index, purpose: .review, model: "claude-haiku-4-5",
                    result: QueryResult(
                        output: .functionCall(name: "submit_review", arguments: .object([:])), latency: 3.1,
                        lastAttemptLatency: 3.1, usage: TokenUsage(input: input, output: output),
                        costUSD: price("haiku", input, output),
                        info: QueryInfo(provider: .anthropic, model: "claude-haiku-4-5-20251001", stopReason: "tool_use", finishReason: .functionCall)),
                    createdAt: clock.addingTimeInterval(-4)))
            } else if let reviewError = step.reviewError {
                calls.append(LLMCallRecord(
                    runID: runID, nodeID: node.id, step: index, purpose: .review, model: "claude-haiku-4-5",
                    provider: .anthropic, error: reviewError, latency: 41.5, lastAttemptLatency: 0.4, attempts: 5,
                    createdAt: clock.addingTimeInterval(-42)))
            }
            for call in calls {
                tokens.input += call.inputTokens
                tokens.output += call.outputTokens
                cost += call.costUSD ?? 0
            }
            let best = made.filter { !$0.isBuggy }.min { ($0.metric ?? .infinity) < ($1.metric ?? .infinity) }
            try store.commit(
                node: node, calls: calls,
                metrics: MetricsRecord(
                    runID: runID, step: index, bestMetric: best?.metric, bestTestScore: best?.testScore,
                    bestNodeID: best?.id, inputTokens: tokens.input, outputTokens: tokens.output, costUSD: cost,
                    elapsed: clock.timeIntervalSince(start), nodes: made.count,
                    buggyNodes: made.filter(\.isBuggy).count, recordedAt: clock),
                bestNodeID: best?.id)
        }
        // Step 6: the draft call fails for good; the run stops, resumable.
        try store.recordCall(LLMCallRecord(
            runID: runID, nodeID: nil, step: 6, purpose: .draft, model: "claude-sonnet-4-5", provider: .anthropic,
            error: "HTTP 529 overloaded_error", latency: 62.0, lastAttemptLatency: 0.5, attempts: 5,
            createdAt: clock.addingTimeInterval(62)))
        try store.updateRun(
            status: .failed, stopReason: "draft call failed: HTTP 529 overloaded_error", bestNodeID: nil,
            finishedAt: clock.addingTimeInterval(63))
        try store.close()
    }

    /// Runs every ```sql block of docs/SCHEMA.md against a realistic run. With AIDE_STORE_EXAMPLE
    /// set to a path, the run is written there and kept (to run the queries in the sqlite3 shell).
    @Test func schemaDocQueriesRunOnARealisticRun() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/SCHEMA.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let queries = text.components(separatedBy: "```sql\n").dropFirst().compactMap {
            $0.components(separatedBy: "```").first?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(queries.count >= 4)
        try Self.withTemporaryDirectory { directory in
            let kept = ProcessInfo.processInfo.environment["AIDE_STORE_EXAMPLE"].map { URL(fileURLWithPath: $0) }
            let path = kept ?? directory.appendingPathComponent("run.sqlite")
            if let kept {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: kept.path + suffix) }
            }
            try Self.writeRealisticRun(to: path)
            let reader = try RunStore.openReadOnly(path: path)
            for query in queries {
                let rows = try reader.read { db in try Row.fetchAll(db, sql: query) }
                #expect(!rows.isEmpty, "no rows from:\n\(query)")
            }
            let snapshot = try reader.snapshot()
            #expect(snapshot.run?.bestNodeID == "d9a2b6c7")
            #expect(snapshot.nodes.count == 6 && snapshot.calls.count == 12 && snapshot.metrics.count == 6)
            #expect(snapshot.nodes[5].execution == nil && snapshot.nodes[4].review == nil)
            #expect(snapshot.metrics.last?.bestMetric == 0.1268)
        }
    }

    @Test func migrationsAreNamedAndStartWithV1() {
        #expect(RunMigrations.known.first == "v1-runs-nodes-calls-metrics")
        #expect(Set(RunMigrations.known).count == RunMigrations.known.count)
    }
}
