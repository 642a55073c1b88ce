import Foundation
import GRDB

// What a live viewer (`aide serve`) needs to follow a run that is still writing: the run's summary
// kept in memory and advanced by reading only what was committed since (`LiveRun`), and updates
// in the form the HTML viewer's page data already has (HTMLReport), so the page merges them as if
// they had been embedded.
//
// Nodes are followed by commit order (the `nodes` table's insertion order), not by step: with
// several workers, step 7 can be committed before step 6.

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

/// One run as a live viewer follows it. The summary snapshot (every node without its plan, code
/// and output; every call; every metrics row) stays in memory, and `advance()` reads only the rows
/// inserted since the last one: nodes, calls and metrics rows are only ever inserted, so a change
/// costs what changed, not the whole run. The run's report is rebuilt from memory once per change
/// and shared by every update made from it.
public struct LiveRun: Sendable {
    public let store: RunStore
    /// Nodes (summaries, ordered by step), calls and metrics rows read so far, and the run's row.
    public private(set) var snapshot = RunSnapshot(run: nil, nodes: [], calls: [], metrics: [])
    /// The report of `snapshot`; nil before the first `advance()` that found the run.
    public private(set) var report: RunReport?
    /// Each node's rowid, in commit order.
    private var nodeRowIDs: [Int64] = []
    private var lastCallID: Int64 = 0
    private var lastMetricsRowID: Int64 = 0
    private var calls: [String: [LLMCallRecord]] = [:]
    /// The nodes the last `advance()` that found any read, whole; the first is commit number
    /// `recentFrom`, the last the latest commit.
    private var recent: [Node] = []
    private var recentFrom = 0
    private var selections: (nodes: String, summary: String, calls: String, metrics: String)?

    public init(store: RunStore) {
        self.store = store
    }

    /// Nodes committed so far (as of the last `advance()`).
    public var commits: Int { nodeRowIDs.count }

    /// Reads, in one transaction, the run's row and the nodes, calls and metrics rows inserted
    /// since the last call, and rebuilds the report when anything changed. Returns whether it did.
    @discardableResult
    public mutating func advance(now: Date = Date()) throws -> Bool {
        do {
            let changed = try store.read { db in try advance(db) }
            if changed || report == nil, snapshot.run != nil {
                report = try RunReport(snapshot: snapshot, path: store.path.path, now: now)
            }
            return changed
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.reading(error)
        }
    }

    private mutating func advance(_ db: Database) throws -> Bool {
        let selections = try self.selections ?? (
            try NodeRecord.selection(db), try NodeRecord.summarySelection(db), try LLMCallRecord.selection(db),
            try MetricsRecord.selection(db))
        self.selections = selections
        let run = try RunRecord.order(RunRecord.Columns.startedAt).fetchOne(db)
        var changed = run != snapshot.run
        snapshot.run = run

        // The first read takes the summaries only (a large run's texts are for the pages that ask);
        // later ones take the new nodes whole, for the updates. The rowid is selected last, after
        // the columns `NodeRecord` reads by position.
        let first = report == nil && nodeRowIDs.isEmpty
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(first ? selections.summary : selections.nodes), rowid FROM nodes WHERE rowid > ? ORDER BY rowid",
            arguments: [nodeRowIDs.last ?? 0])
        if !rows.isEmpty {
            recentFrom = first ? commits + rows.count : commits
            recent = []
        }
        for row in rows {
            let node = try NodeRecord(positionalRow: row).node()
            if !first { recent.append(node) }
            nodeRowIDs.append(row[row.count - 1])
            Self.insert(node.summary, into: &snapshot.nodes, by: \.step)
        }
        changed = changed || !rows.isEmpty

        let newCalls = try Row.fetchAll(
            db, sql: "SELECT \(selections.calls) FROM llm_calls WHERE id > ? ORDER BY id", arguments: [lastCallID]
        ).map { try LLMCallRecord(positionalRow: $0) }
        for call in newCalls {
            snapshot.calls.append(call)
            if let node = call.nodeID { calls[node, default: []].append(call) }
            lastCallID = max(lastCallID, call.id ?? lastCallID)
        }
        changed = changed || !newCalls.isEmpty

        let metrics = try Row.fetchAll(
            db, sql: "SELECT \(selections.metrics), rowid FROM metrics WHERE rowid > ? ORDER BY rowid",
            arguments: [lastMetricsRowID])
        for row in metrics {
            Self.insert(try MetricsRecord(positionalRow: row), into: &snapshot.metrics, by: \.step)
            lastMetricsRowID = row[row.count - 1]
        }
        return changed || !metrics.isEmpty
    }

    /// Keeps `array` ordered by `key`: workers commit nearly in order, so this is mostly an append.
    private static func insert<Element>(_ element: Element, into array: inout [Element], by key: KeyPath<Element, Int>) {
        var index = array.endIndex
        while index > array.startIndex, array[index - 1][keyPath: key] > element[keyPath: key] { index -= 1 }
        array.insert(element, at: index)
    }

    /// The update for a viewer that has the first `afterCommits` nodes (see `HTMLReport.update`).
    /// A viewer as far as the last `advance()` began gets the nodes it read; one further behind
    /// costs a read of the nodes it lacks.
    public func update(afterCommits: Int) throws -> [UInt8] {
        guard let report else { throw ReportError.store(.noRun(path: store.path.path)) }
        let from = min(max(0, afterCommits), commits)
        let nodes: [Node]
        if from >= recentFrom {
            nodes = Array(recent[(from - recentFrom)...])
        } else {
            do {
                // Up to the last node read, so the update matches `report` and `commits`.
                nodes = try store.read { db in
                    try Array(
                        Row.fetchCursor(
                            db,
                            sql: "SELECT \(try NodeRecord.selection(db)) FROM nodes WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                            arguments: [from == 0 ? 0 : nodeRowIDs[from - 1], nodeRowIDs.last ?? 0]
                        ).map { try NodeRecord(positionalRow: $0).node() })
                }
            } catch {
                throw ReportError.reading(error)
            }
        }
        return try HTMLReport.update(report, commits: commits, nodes: nodes, metrics: snapshot.metrics, calls: calls)
    }
}

extension HTMLReport {
    /// One update for a live page, read in one transaction:
    /// `{"commits": N, "data": {"report": …, "steps": […]}, "details": {…}}` where `report` is the
    /// run's aide.report/1 JSON whose `nodes` are only the nodes `range` selects, `steps` their
    /// metrics rows, `details` their plan, code, output, review and calls (as embedded in the
    /// page), and `commits` the nodes committed in all (the next update's `afterCommits`).
    public static func update(_ store: RunStore, range: LiveRange) throws -> [UInt8] {
        do {
            return try store.read { db in
                let snapshot = try RunStore.summarySnapshot(db)
                let report = try RunReport(snapshot: snapshot, path: store.path.path)
                let nodes = try Array(
                    Row.fetchCursor(
                        db,
                        sql: "SELECT \(try NodeRecord.selection(db)) FROM nodes WHERE step >= ? ORDER BY rowid LIMIT -1 OFFSET ?",
                        arguments: [range.fromStep, range.afterCommits]
                    ).map { try NodeRecord(positionalRow: $0).node() })
                return try update(
                    report, commits: snapshot.nodes.count, nodes: nodes, metrics: snapshot.metrics,
                    calls: callsByNode(snapshot))
            }
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.reading(error)
        }
    }

    /// The update carrying `nodes` (whole, in commit order) of the run `report` describes.
    static func update(
        _ report: RunReport, commits: Int, nodes: [Node], metrics: [MetricsRecord], calls: [String: [LLMCallRecord]]
    ) throws -> [UInt8] {
        var json = JSONWriter(scriptSafe: true)
        var partial = report
        let ids = Set(nodes.map(\.id))
        partial.nodes = report.nodes.filter { ids.contains($0.id) }
        let steps = Set(nodes.map(\.step))
        json.raw("{")
        json.key("commits")
        json.int(commits)
        json.raw(",")
        json.key("data")
        try writePageData(partial, metrics: metrics.filter { steps.contains($0.step) }, to: &json)
        json.raw(",")
        json.key("details")
        json.raw("{")
        for (index, node) in nodes.enumerated() {
            try writeDetail(PageDetail(node, runID: report.run.id, calls: calls[node.id] ?? []), first: index == 0, to: &json)
        }
        json.raw("}}")
        return json.bytes
    }
}

extension HTMLReport {
    /// The viewer's CSS, for other pages that should look the same (the `aide serve` pages).
    public static var styleSheet: String { HTMLTemplate.css }
    /// The viewer's DOM and number helpers (`$`, `el`, `num`), for other pages that draw run data.
    public static var scriptHelpers: String { HTMLTemplate.domHelpers }
}
