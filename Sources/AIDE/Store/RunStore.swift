import Foundation
import GRDB

/// Why a run file could not be opened or written.
public enum StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is not an SQLite database at all.
    case notADatabase(path: String, reason: String)
    /// An SQLite database whose pages are damaged.
    case damaged(path: String, reason: String)
    /// SQLite could not open the file (missing directory, permissions).
    case cannotOpen(path: String, reason: String)
    /// Opening read-only a file that does not exist.
    case notFound(path: String)
    /// An SQLite database, but not one aide wrote.
    case notAnAideRun(path: String)
    /// A run written by a newer aide: it has migrations this build does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// A write through a store opened with `openReadOnly`.
    case readOnly(path: String)
    /// The file holds no run yet (`createRun` comes first).
    case noRun(path: String)
    /// `createRun` on a file that already holds a run: one run per file.
    case runExists(path: String, runID: String)
    /// A commit whose parts do not belong together (another run, another node).
    case inconsistentCommit(CommitMismatch)

    /// The part of a commit that belongs to another run or node.
    public enum CommitMismatch: Sendable, Equatable {
        /// The metrics row is another run's.
        case metrics(ofRun: String, storeRun: String)
        /// An LLM call is another run's.
        case call(ofRun: String, storeRun: String)
        /// An LLM call names another node than the one committed.
        case callOfNode(String, committedNode: String)
    }

    public var description: String {
        switch self {
        case .notADatabase(let path, let reason):
            return "\(path) is not an SQLite database (\(reason))"
        case .damaged(let path, let reason):
            return "\(path) is a damaged SQLite database (\(reason))"
        case .cannotOpen(let path, let reason):
            return "cannot open \(path) (\(reason))"
        case .notFound(let path):
            return "\(path) does not exist"
        case .notAnAideRun(let path):
            return "\(path) is an SQLite database but not an aide run (it lacks aide's tables)"
        case .newerSchema(let path, let unknown):
            return "\(path) comes from a newer aide (unknown schema migrations: \(unknown.joined(separator: ", "))); "
                + "upgrade aide to open it"
        case .readOnly(let path):
            return "\(path) is open read-only"
        case .noRun(let path):
            return "\(path) holds no run yet"
        case .runExists(let path, let runID):
            return "\(path) already holds run \(runID) (one run per file)"
        case .inconsistentCommit(.metrics(let other, let run)):
            return "inconsistent commit: metrics of run \(other) in run \(run)"
        case .inconsistentCommit(.call(let other, let run)):
            return "inconsistent commit: LLM call of run \(other) in run \(run)"
        case .inconsistentCommit(.callOfNode(let other, let node)):
            return "inconsistent commit: LLM call of node \(other) committed with node \(node)"
        }
    }

    /// Runs `body`, turning SQLite's "not a database", "corrupt" and "cannot open" into store errors.
    static func translating<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            let reason = error.message ?? "\(error.resultCode)"
            switch error.resultCode {
            case .SQLITE_NOTADB: throw StoreError.notADatabase(path: path, reason: reason)
            case .SQLITE_CORRUPT: throw StoreError.damaged(path: path, reason: reason)
            case .SQLITE_CANTOPEN: throw StoreError.cannotOpen(path: path, reason: reason)
            default: throw error
            }
        }
    }
}

/// Every consistent view of a run at once, read in one transaction.
public struct RunSnapshot: Sendable, Hashable {
    public var run: RunRecord?
    /// Ordered by step.
    public var nodes: [Node]
    /// Ordered by insertion.
    public var calls: [LLMCallRecord]
    /// Ordered by step.
    public var metrics: [MetricsRecord]
}

/// The journal of one run: one SQLite file (`runs/<run-id>/run.sqlite`, schema in docs/SCHEMA.md)
/// in WAL mode, so reports read it while the run writes, and neither waits for the other.
///
/// Each step is one `commit`: the node, its LLM calls, the metrics row and the run's best node,
/// all or nothing. A process killed at any point leaves the file with every commit that returned.
/// Calls block their thread for the length of one SQLite transaction (milliseconds).
public final class RunStore: Sendable {
    /// The file name of a run's database inside its run directory.
    public static let fileName = "run.sqlite"

    /// `runsDirectory/<runID>/run.sqlite`.
    public static func fileURL(runsDirectory: URL, runID: String) -> URL {
        runsDirectory.appendingPathComponent(runID, isDirectory: true).appendingPathComponent(fileName)
    }

    public let path: URL
    /// Opened with `openReadOnly`: every write throws `StoreError.readOnly`.
    public let isReadOnly: Bool
    let pool: DatabasePool

    private init(path: URL, pool: DatabasePool, isReadOnly: Bool) {
        self.path = path
        self.pool = pool
        self.isReadOnly = isReadOnly
    }

    /// Opens the run file at `path`, creating it (and its directory) if needed, and brings its
    /// schema up to date. Throws `StoreError` for a file that is not SQLite, not an aide run, or
    /// from a newer aide; such a file is left untouched.
    public convenience init(path: URL) throws {
        let file = path.path
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        // An existing file is inspected read-only first: opening it for writing would switch it to
        // WAL mode, which must not happen to someone else's database.
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        if size > 0 {
            _ = try StoreError.translating(file) {
                let queue = try DatabaseQueue(path: file, configuration: Self.configuration(readOnly: true))
                defer { try? queue.close() }
                return try queue.read { try RunMigrations.state(of: $0, path: file) }
            }
        }
        let pool = try StoreError.translating(file) {
            try DatabasePool(path: file, configuration: Self.configuration(readOnly: false))
        }
        try StoreError.translating(file) {
            try RunMigrations.migrator.migrate(pool)
            // GRDB's WAL default, NORMAL, already survives a killed process; FULL also keeps the
            // last commits through a power cut, for one fsync per step.
            try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        self.init(path: path, pool: pool, isReadOnly: false)
    }

    /// Opens an existing run file for reading only: no migration, no write. Readers see each
    /// commit whole, and never hold up the writer.
    public static func openReadOnly(path: URL) throws -> RunStore {
        let file = path.path
        guard FileManager.default.fileExists(atPath: file) else { throw StoreError.notFound(path: file) }
        let pool = try StoreError.translating(file) {
            try DatabasePool(path: file, configuration: configuration(readOnly: true))
        }
        let state = try StoreError.translating(file) {
            try pool.read { try RunMigrations.state(of: $0, path: file) }
        }
        switch state {
        case .current: break
        case .empty: throw StoreError.notAnAideRun(path: file)
        case .behind:
            // Later migrations only add nullable columns, which read as nil from an older file:
            // a report reads it as it is, without upgrading a file it was not asked to change.
            break
        }
        return RunStore(path: path, pool: pool, isReadOnly: true)
    }

    private static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.label = "aide.RunStore"
        // Another process writing the same file (a second `aide` on one run) waits rather than fails.
        configuration.busyMode = .timeout(10)
        return configuration
    }

    /// Closes the file; the store cannot be used afterwards.
    public func close() throws {
        try pool.close()
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try StoreError.translating(path.path) { try pool.read(body) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        guard !isReadOnly else { throw StoreError.readOnly(path: path.path) }
        return try StoreError.translating(path.path) { try pool.write(body) }
    }
}

extension RunStore {
    /// Records the run this file is for. A file holds one run: a second throws `StoreError.runExists`.
    public func createRun(_ run: RunRecord) throws {
        try write { db in
            if let existing = try RunRecord.fetchOne(db) {
                throw StoreError.runExists(path: path.path, runID: existing.id)
            }
            try run.insert(db)
        }
    }

    /// The one run in this file; nil before `createRun`.
    public func run() throws -> RunRecord? {
        try read { db in try RunRecord.order(RunRecord.Columns.startedAt).fetchOne(db) }
    }

    /// Sets the run's status, stop reason and finish time as given (nil clears them, as when a run
    /// resumes), and `updated_at` to now. `bestNodeID` nil leaves the best node as it is.
    public func updateRun(status: RunStatus, stopReason: String?, bestNodeID: String?, finishedAt: Date?) throws {
        try write { db in
            var assignments = [
                RunRecord.Columns.status.set(to: status),
                RunRecord.Columns.stopReason.set(to: stopReason),
                RunRecord.Columns.finishedAt.set(to: finishedAt.map(Timestamp.text)),
                RunRecord.Columns.updatedAt.set(to: Timestamp.text(Date())),
            ]
            if let bestNodeID { assignments.append(RunRecord.Columns.bestNodeID.set(to: bestNodeID)) }
            guard try RunRecord.updateAll(db, assignments) > 0 else { throw StoreError.noRun(path: path.path) }
        }
    }

    /// Stores the data preview built when the run started.
    public func setDataPreview(_ preview: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE runs SET data_preview = ?", arguments: [preview])
            guard db.changesCount > 0 else { throw StoreError.noRun(path: path.path) }
        }
    }

    /// The data preview stored when the run started; nil for a run from a build that did not store it.
    public func dataPreview() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT data_preview FROM runs LIMIT 1") }
    }

    /// Stores where the run's data is, how its scripts see it and its fingerprint (when the run starts).
    public func setDataSource(_ data: RunData) throws {
        let json = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        try write { db in
            try db.execute(sql: "UPDATE runs SET data_source = ?", arguments: [json])
            guard db.changesCount > 0 else { throw StoreError.noRun(path: path.path) }
        }
    }

    /// The run's data as recorded when it started; nil for a run from a build that did not record it.
    public func dataSource() throws -> RunData? {
        guard let json = try read({ db in try String.fetchOne(db, sql: "SELECT data_source FROM runs LIMIT 1") }) else {
            return nil
        }
        return try JSONDecoder().decode(RunData.self, from: Data(json.utf8))
    }

    /// Records how the run's scripts are isolated (at each start and resume).
    public func setSandbox(_ summary: String) throws {
        try write { db in
            guard try RunRecord.updateAll(db, [RunRecord.Columns.sandbox.set(to: summary)]) > 0 else {
                throw StoreError.noRun(path: path.path)
            }
        }
    }

    /// Sets the run's `updated_at` to now (a heartbeat: a running run whose `updated_at` is old
    /// was killed).
    public func touchRun() throws {
        try write { db in
            let count = try RunRecord.updateAll(db, [RunRecord.Columns.updatedAt.set(to: Timestamp.text(Date()))])
            guard count > 0 else { throw StoreError.noRun(path: path.path) }
        }
    }

    /// One transaction: the node, its LLM calls, the metrics row, and runs.best_node_id / updated_at.
    /// Calls without a node ID are the node's; a call naming another node, or a call or metrics row
    /// of another run, throws `StoreError.inconsistentCommit` and nothing is written. `bestNodeID`
    /// nil leaves the run's best node as it is.
    public func commit(node: Node, calls: [LLMCallRecord], metrics: MetricsRecord, bestNodeID: String?) throws {
        try write { db in
            guard let runID = try String.fetchOne(db, RunRecord.select(RunRecord.Columns.id)) else {
                throw StoreError.noRun(path: path.path)
            }
            guard metrics.runID == runID else {
                throw StoreError.inconsistentCommit(.metrics(ofRun: metrics.runID, storeRun: runID))
            }
            try NodeRecord(node, runID: runID).insert(db)
            for var call in calls {
                guard call.runID == runID else {
                    throw StoreError.inconsistentCommit(.call(ofRun: call.runID, storeRun: runID))
                }
                if let nodeID = call.nodeID, nodeID != node.id {
                    throw StoreError.inconsistentCommit(.callOfNode(nodeID, committedNode: node.id))
                }
                call.nodeID = node.id
                try call.insert(db)
            }
            try metrics.insert(db)
            try db.execute(sql: "DELETE FROM pending_steps WHERE step = ?", arguments: [node.step])
            var assignments = [RunRecord.Columns.updatedAt.set(to: Timestamp.text(Date()))]
            if let bestNodeID { assignments.append(RunRecord.Columns.bestNodeID.set(to: bestNodeID)) }
            try RunRecord.filter(key: runID).updateAll(db, assignments)
        }
    }

    /// Records a call outside any node (rare: the calls of a step that made no node).
    public func recordCall(_ call: LLMCallRecord) throws {
        try write { db in
            var call = call
            try call.insert(db)
        }
    }

    /// Every node, ordered by step.
    public func nodes() throws -> [Node] {
        try read { db in try Self.nodes(db) }
    }

    public func node(id: String) throws -> Node? {
        try read { db in try NodeRecord.fetchOne(db, key: id)?.node() }
    }

    /// The calls of one node, or every call when `nodeID` is nil; in the order they were recorded.
    public func calls(nodeID: String?) throws -> [LLMCallRecord] {
        try read { db in
            var request = LLMCallRecord.order(LLMCallRecord.Columns.id)
            if let nodeID { request = request.filter(LLMCallRecord.Columns.nodeID == nodeID) }
            return try request.fetchAll(db)
        }
    }

    /// The metrics journal, ordered by step.
    public func metrics() throws -> [MetricsRecord] {
        try read { db in try MetricsRecord.order(sql: MetricsRecord.stepOrder).fetchAll(db) }
    }

    /// Sums over every recorded LLM call (calls of unknown price add nothing to the cost).
    public func totals() throws -> (inputTokens: Int, outputTokens: Int, costUSD: Double, calls: Int) {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
                       COALESCE(SUM(cost_usd), 0.0), COUNT(*)
                FROM llm_calls
                """)
            guard let row else { return (0, 0, 0, 0) }
            return (row[0], row[1], row[2], row[3])
        }
    }

    /// The run, its nodes, calls and metrics as of one instant.
    public func snapshot() throws -> RunSnapshot {
        try read { db in
            RunSnapshot(
                run: try RunRecord.order(RunRecord.Columns.startedAt).fetchOne(db), nodes: try Self.nodes(db),
                calls: try LLMCallRecord.order(LLMCallRecord.Columns.id).fetchAll(db),
                metrics: try MetricsRecord.order(sql: MetricsRecord.stepOrder).fetchAll(db))
        }
    }

    /// The snapshot summaries need: every node with its plan, code and output empty (a node that
    /// ran still has an execution, of empty output) and no traceback. Reading a 10,000-node run
    /// this way skips the tens of megabytes of text a report of the tree never shows.
    public func summarySnapshot() throws -> RunSnapshot {
        try read { db in try Self.summarySnapshot(db) }
    }

    /// Every node whole, in step order, handed to `eachNode` one at a time (so the caller need not
    /// hold every node's code and output at once), after `start` got the run, its LLM calls and
    /// its metrics journal (no nodes yet); returns the `summarySnapshot()` made from the same read
    /// (each node once, for a caller that needs them whole and in summary). One transaction.
    public func eachNode(
        start: (RunSnapshot) throws -> Void, _ eachNode: (Node) throws -> Void
    ) throws -> RunSnapshot {
        try read { db in
            var snapshot = try Self.snapshotWithoutNodes(db)
            try start(snapshot)
            let rows = try Row.fetchCursor(db, sql: "SELECT \(try NodeRecord.selection(db)) FROM nodes ORDER BY \(NodeRecord.stepOrder)")
            while let row = try rows.next() {
                let node = try NodeRecord(positionalRow: row).node()
                try eachNode(node)
                snapshot.nodes.append(node.summary)
            }
            return snapshot
        }
    }

    static func summarySnapshot(_ db: Database) throws -> RunSnapshot {
        var snapshot = try snapshotWithoutNodes(db)
        snapshot.nodes = try Array(
            Row.fetchCursor(db, sql: "SELECT \(try NodeRecord.summarySelection(db)) FROM nodes ORDER BY \(NodeRecord.stepOrder)")
                .map { try NodeRecord(positionalRow: $0).node() })
        return snapshot
    }

    private static func snapshotWithoutNodes(_ db: Database) throws -> RunSnapshot {
        RunSnapshot(
            run: try RunRecord.order(RunRecord.Columns.startedAt).fetchOne(db),
            nodes: [],
            calls: try Array(
                Row.fetchCursor(db, sql: "SELECT \(try LLMCallRecord.selection(db)) FROM llm_calls ORDER BY id")
                    .map { try LLMCallRecord(positionalRow: $0) }),
            metrics: try Array(
                Row.fetchCursor(db, sql: "SELECT \(try MetricsRecord.selection(db)) FROM metrics ORDER BY \(MetricsRecord.stepOrder)")
                    .map { try MetricsRecord(positionalRow: $0) }))
    }

    private static func nodes(_ db: Database) throws -> [Node] {
        try NodeRecord.order(sql: NodeRecord.stepOrder).fetchAll(db).map { try $0.node() }
    }
}
