import AIDE
import Foundation
import XCTest

/// `LiveRun` keeps a run's summary in memory and reads only what was committed since it last
/// looked: after any sequence of commits its report must be the report read whole, and its updates
/// must carry exactly the nodes a viewer lacks, whole.
final class LiveRunTests: XCTestCase {
    typealias Runs = DashboardServerTests

    /// Commits `step` with a call and a long output, so summaries and whole nodes differ.
    func commit(_ store: RunStore, step: Int, parent: String?) throws {
        let now = Date()
        let metric = 1.0 / Double(step + 2)
        let node = Node(
            id: "node-\(step)", parentID: parent, step: step, stage: parent == nil ? .draft : .improve,
            plan: "Plan \(step)", code: "print(\(step))\n",
            execution: ExecutionResult(
                output: "loss \(step)\n", outputBytes: 8, exitCode: 0, signal: nil, timedOut: false, duration: 1,
                exceptionType: nil, traceback: nil),
            review: Review(isBug: false, summary: "Fine.", metric: metric), metric: metric, isBuggy: false,
            createdAt: now, finishedAt: now)
        let call = LLMCallRecord(
            runID: Runs.runID, nodeID: nil, step: step, purpose: .draft, model: "m-\(step % 2)", provider: .openai,
            latency: 1, lastAttemptLatency: 1, inputTokens: 10 * step, outputTokens: step, costUSD: 0.01, attempts: 1)
        try store.commit(
            node: node, calls: [call],
            metrics: MetricsRecord(
                runID: Runs.runID, step: step, bestMetric: metric, bestTestScore: nil, bestNodeID: node.id,
                inputTokens: 10, outputTokens: 1, costUSD: 0.01, elapsed: Double(step), nodes: step + 1, buggyNodes: 0,
                recordedAt: now),
            bestNodeID: node.id)
    }

    func ids(_ update: [UInt8]) throws -> (report: [String], details: Set<String>, commits: Int?, code: [String: String]) {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(update)) as? [String: Any])
        let report = try XCTUnwrap((object["data"] as? [String: Any])?["report"] as? [String: Any])
        let rows = try XCTUnwrap(report["nodes"] as? [[String: Any]])
        let details = try XCTUnwrap(object["details"] as? [String: [String: Any]])
        return (
            rows.compactMap { $0["id"] as? String }, Set(details.keys), object["commits"] as? Int,
            details.compactMapValues { $0["code"] as? String }
        )
    }

    func testAdvancingByCommitsKeepsTheWholeReportAndUpdatesCarryWhatAViewerLacks() throws {
        let (folder, store) = try Runs.makeRuns(nodes: 0)
        defer { try? FileManager.default.removeItem(at: folder) }
        try commit(store, step: 0, parent: nil)
        try commit(store, step: 1, parent: "node-0")
        let reader = try RunStore.openReadOnly(path: store.path)
        var live = LiveRun(store: reader)
        XCTAssertTrue(try live.advance())
        XCTAssertEqual(live.commits, 2)
        XCTAssertEqual(live.report, try RunReport.load(reader))
        XCTAssertFalse(try live.advance(), "nothing was committed since")

        // Workers commit out of step order: step 3 lands before step 2.
        try commit(store, step: 3, parent: "node-1")
        try commit(store, step: 2, parent: "node-0")
        XCTAssertTrue(try live.advance())
        XCTAssertEqual(live.commits, 4)
        XCTAssertEqual(live.snapshot.nodes.map(\.step), [0, 1, 2, 3])
        XCTAssertEqual(live.snapshot.metrics.map(\.step), [0, 1, 2, 3])
        XCTAssertEqual(live.snapshot.calls.count, 4)
        XCTAssertEqual(live.report, try RunReport.load(reader), "the report kept up is the report read whole")
        XCTAssertEqual(live.report?.totals.calls, 4)

        // A viewer at the last position gets the nodes just read, whole.
        let current = try ids(live.update(afterCommits: 2))
        XCTAssertEqual(current.report, ["node-2", "node-3"], "rows in step order")
        XCTAssertEqual(current.details, ["node-2", "node-3"])
        XCTAssertEqual(current.commits, 4)
        XCTAssertEqual(current.code["node-3"], "print(3)\n")
        // One further behind (a page loaded earlier) gets everything it lacks, read again.
        let behind = try ids(live.update(afterCommits: 1))
        XCTAssertEqual(behind.details, ["node-1", "node-2", "node-3"])
        XCTAssertEqual(behind.code["node-1"], "print(1)\n")
        // A viewer that has everything gets no node.
        XCTAssertEqual(try ids(live.update(afterCommits: 4)).details, [])

        // A node committed after the last advance is in no update until the next one.
        try commit(store, step: 4, parent: "node-3")
        XCTAssertEqual(try ids(live.update(afterCommits: 0)).details.count, 4)
        XCTAssertTrue(try live.advance())
        XCTAssertEqual(try ids(live.update(afterCommits: 4)).details, ["node-4"])
        XCTAssertEqual(live.report, try RunReport.load(reader))
    }

    func testTheFirstLookReadsSummariesAndLaterViewersStillGetWholeNodes() throws {
        let (folder, store) = try Runs.makeRuns(nodes: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        var live = LiveRun(store: try RunStore.openReadOnly(path: store.path))
        try live.advance()
        XCTAssertEqual(live.snapshot.nodes.map(\.code), ["", "", ""], "the summary holds no code")
        let update = try ids(live.update(afterCommits: 1))
        XCTAssertEqual(update.details, ["node-1", "node-2"])
        XCTAssertEqual(update.code["node-2"], "print('step 2')\n")
    }
}
