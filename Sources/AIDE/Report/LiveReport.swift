import Foundation
import GRDB

// What a live viewer (`aide serve`) needs to follow a run that is still writing: a cheap mark that
// changes when anything is committed, and the nodes committed since the viewer last looked, in
// the form the HTML viewer's page data already has (HTMLReport), so the page merges them as if
// they had been embedded.
//
// Nodes are followed by commit order (the `nodes` table's insertion order), not by step: with
// several workers, step 7 can be committed before step 6.

/// What changes whenever the run commits a node or writes its row (status, heartbeat, best node).
public struct RunChangeMark: Sendable, Hashable {
    /// Nodes committed.
    public var nodes: Int
    public var status: RunStatus?
    public var updatedAt: Date?
}

/// Which nodes an update carries.
public struct LiveRange: Sendable, Hashable {
    /// Skip the first `afterCommits` nodes in commit order (those a viewer already has).
    public var afterCommits: Int
    /// Only nodes of this step or later.
    public var fromStep: Int

    public init(afterCommits: Int = 0, fromStep: Int = 0) {
        self.afterCommits = max(0, afterCommits)
        self.fromStep = fromStep
    }
}

extension RunStore {
    /// The run's change mark: one small read.
    public func changeMark() throws -> RunChangeMark {
        try read { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes") ?? 0
            let run = try RunRecord.order(RunRecord.Columns.startedAt).fetchOne(db)
            return RunChangeMark(nodes: count, status: run?.status, updatedAt: run?.updatedAt)
        }
    }
}

extension HTMLReport {
    /// One update for a live page, read in one transaction:
    /// `{"commits": N, "report": …, "steps": […], "details": {…}}` where `report` is the run's
    /// aide.report/1 JSON whose `nodes` are only the nodes `range` selects, `steps` their metrics
    /// rows, `details` their plan, code, output, review and calls (as embedded in the page), and
    /// `commits` the nodes committed in all (the next update's `afterCommits`).
    public static func update(_ store: RunStore, range: LiveRange) throws -> [UInt8] {
        var json = JSONWriter(scriptSafe: true)
        do {
            try store.read { db in
                let snapshot = try RunStore.summarySnapshot(db)
                let report = try RunReport(snapshot: snapshot, path: store.path.path)
                let nodes = try Array(
                    Row.fetchCursor(
                        db,
                        sql: "SELECT \(try NodeRecord.selection(db)) FROM nodes WHERE step >= ? ORDER BY rowid LIMIT -1 OFFSET ?",
                        arguments: [range.fromStep, range.afterCommits]
                    ).map { try NodeRecord(positionalRow: $0).node() })
                // Skipping by commit order counts every node, of any step.
                var partial = report
                let ids = Set(nodes.map(\.id))
                partial.nodes = report.nodes.filter { ids.contains($0.id) }
                let steps = Set(nodes.map(\.step))
                json.raw("{")
                json.key("commits")
                json.int(snapshot.nodes.count)
                json.raw(",")
                json.key("data")
                try writePageData(partial, metrics: snapshot.metrics.filter { steps.contains($0.step) }, to: &json)
                json.raw(",")
                json.key("details")
                json.raw("{")
                let calls = callsByNode(snapshot)
                for (index, node) in nodes.enumerated() {
                    try writeDetail(node, first: index == 0, runID: report.run.id, calls: calls[node.id] ?? [], to: &json)
                }
                json.raw("}}")
            }
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError(RunReport.oneLine(error))
        }
        return json.bytes
    }
}

extension HTMLReport {
    /// The viewer's CSS, for other pages that should look the same (the `aide serve` pages).
    public static var styleSheet: String { HTMLTemplate.css }
    /// The viewer's DOM and number helpers (`$`, `el`, `num`), for other pages that draw run data.
    public static var scriptHelpers: String { HTMLTemplate.domHelpers }
}
