import Foundation
import GRDB

// The rows of a run file (docs/SCHEMA.md), one Codable struct per table. Column names are the
// snake_case coding keys; timestamps are UTC text (`Timestamp`) that round-trips a `Date` exactly.

/// Where a run stands.
public enum RunStatus: String, Codable, Sendable, Hashable, CaseIterable, DatabaseValueConvertible {
    case running
    case finished
    case interrupted
    case failed
}

/// The `runs` row: the one run a file holds.
public struct RunRecord: Codable, Sendable, Hashable, TimestampRecord, PersistableRecord {
    public static let databaseTableName = "runs"

    public var id: String
    public var taskName: String
    /// The task file the run was started from, as given.
    public var taskFile: String
    /// The resolved `TaskSpec` as JSON (keys sorted).
    public var configJSON: String
    public var status: RunStatus
    /// Why the run stopped: "steps budget", "time budget", "usd budget", "tokens budget",
    /// "interrupted", or an error's text. Nil while running.
    public var stopReason: String?
    /// Kept as its 64-bit pattern, since SQLite integers are signed: seeds of 2^63 and more read
    /// negative in the `seed` column and come back unchanged here.
    private var seedBits: Int64
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    public var bestNodeID: String?
    public var aideVersion: String
    /// How its scripts run: `bwrap`, or `none (exec.sandbox: none)`, `none (bubblewrap unavailable: …)`;
    /// set at each start and resume. Nil for runs older than the sandbox.
    public var sandbox: String?

    /// The search seed.
    public var seed: UInt64 {
        get { UInt64(bitPattern: seedBits) }
        set { seedBits = Int64(bitPattern: newValue) }
    }

    enum CodingKeys: String, CodingKey {
        case id
        case taskName = "task_name"
        case taskFile = "task_file"
        case configJSON = "config_json"
        case status
        case stopReason = "stop_reason"
        case seedBits = "seed"
        case startedAt = "started_at"
        case updatedAt = "updated_at"
        case finishedAt = "finished_at"
        case bestNodeID = "best_node_id"
        case aideVersion = "aide_version"
        case sandbox
    }

    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let taskName = Column(CodingKeys.taskName)
        public static let taskFile = Column(CodingKeys.taskFile)
        public static let configJSON = Column(CodingKeys.configJSON)
        public static let status = Column(CodingKeys.status)
        public static let stopReason = Column(CodingKeys.stopReason)
        public static let seed = Column(CodingKeys.seedBits)
        public static let startedAt = Column(CodingKeys.startedAt)
        public static let updatedAt = Column(CodingKeys.updatedAt)
        public static let finishedAt = Column(CodingKeys.finishedAt)
        public static let bestNodeID = Column(CodingKeys.bestNodeID)
        public static let aideVersion = Column(CodingKeys.aideVersion)
        public static let sandbox = Column(CodingKeys.sandbox)
    }

    public init(
        id: String, taskName: String, taskFile: String, configJSON: String, status: RunStatus = .running,
        stopReason: String? = nil, seed: UInt64, startedAt: Date, updatedAt: Date? = nil, finishedAt: Date? = nil,
        bestNodeID: String? = nil, aideVersion: String = AIDEVersion.current
    ) {
        self.id = id
        self.taskName = taskName
        self.taskFile = taskFile
        self.configJSON = configJSON
        self.status = status
        self.stopReason = stopReason
        self.seedBits = Int64(bitPattern: seed)
        self.startedAt = startedAt
        self.updatedAt = updatedAt ?? startedAt
        self.finishedAt = finishedAt
        self.bestNodeID = bestNodeID
        self.aideVersion = aideVersion
    }

    /// A running run of `spec`: its name, seed and JSON come from the spec.
    public init(
        id: String, taskFile: String, spec: TaskSpec, startedAt: Date = Date(), aideVersion: String = AIDEVersion.current
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.init(
            id: id, taskName: spec.name, taskFile: taskFile,
            configJSON: String(decoding: try encoder.encode(spec), as: UTF8.self), seed: spec.search.seed,
            startedAt: startedAt, aideVersion: aideVersion)
    }

    /// The resolved task spec the run was started with.
    public func spec() throws -> TaskSpec {
        try JSONDecoder().decode(TaskSpec.self, from: Data(configJSON.utf8))
    }
}

extension LLMCallRecord {
    /// USD the provider's prompt cache saved on this call, at the model table's rates: its cached
    /// reads at the input rate less what they cost, less the premium of its cache writes. Nil when
    /// the call used no cache or the model's price is unknown. One-hour writes count at their own
    /// (higher) rate, so a `1h` run's savings can be below zero.
    public var cacheSavingsUSD: Double? {
        guard (cacheReadTokens ?? 0) > 0 || (cacheWriteTokens ?? 0) > 0, let spec = ModelTable.spec(for: model) else { return nil }
        var usage = TokenUsage(
            input: inputTokens, output: outputTokens, cacheRead: cacheReadTokens, cacheWrite: cacheWriteTokens)
        usage.cacheWriteLong = cacheWriteLongTokens
        return spec.cacheSavings(of: usage)
    }
}

/// An `llm_calls` row: one call to a model, successful or not.
public struct LLMCallRecord: Codable, Sendable, Hashable, TimestampRecord, MutablePersistableRecord {
    public static let databaseTableName = "llm_calls"

    /// Assigned by the store on insertion (nil before).
    public var id: Int64?
    public var runID: String
    /// The node the call was made for; nil for a call outside any node.
    public var nodeID: String?
    public var step: Int
    /// What the call was for.
    public var purpose: CallPurpose
    /// The model as asked for (the provider may answer with a dated variant).
    public var model: String
    public var provider: CallProvider
    /// Wall seconds of the whole call, retries included.
    public var latency: Double
    /// Wall seconds of the last HTTP attempt.
    public var lastAttemptLatency: Double
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadTokens: Int?
    public var cacheWriteTokens: Int?
    public var reasoningTokens: Int?
    /// Nil when the model's price is unknown.
    public var costUSD: Double?
    /// The provider's own stop reason.
    public var stopReason: String?
    /// `FinishReason` raw value: "stop", "length", "function_call", "content_filter".
    public var finishReason: String?
    public var attempts: Int
    /// Why the call failed; nil for a successful call.
    public var error: String?
    public var createdAt: Date
    /// The model as the provider answered it (a dated variant of `model`, or another model entirely).
    public var answeredModel: String? = nil
    public var responseID: String? = nil
    public var systemFingerprint: String? = nil
    /// Options the model could not take and that were not sent (a JSON list), nil for none.
    public var droppedOptions: String? = nil
    /// What each failed attempt failed with (a JSON list), nil when the first attempt answered.
    public var attemptFailures: String? = nil
    /// Times a cut-off answer was asked again with a larger max_tokens; nil for none.
    public var cutOffRetries: Int? = nil
    /// Of `cacheWriteTokens`, those written with the one-hour lifetime; nil for none.
    public var cacheWriteLongTokens: Int? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case answeredModel = "answered_model"
        case responseID = "response_id"
        case systemFingerprint = "system_fingerprint"
        case droppedOptions = "dropped_options"
        case attemptFailures = "attempt_failures"
        case cutOffRetries = "cut_off_retries"
        case cacheWriteLongTokens = "cache_write_1h_tokens"
        case id
        case runID = "run_id"
        case nodeID = "node_id"
        case step, purpose, model, provider, latency
        case lastAttemptLatency = "last_attempt_latency"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cacheReadTokens = "cache_read_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case costUSD = "cost_usd"
        case stopReason = "stop_reason"
        case finishReason = "finish_reason"
        case attempts, error
        case createdAt = "created_at"
    }

    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let runID = Column(CodingKeys.runID)
        public static let nodeID = Column(CodingKeys.nodeID)
        public static let step = Column(CodingKeys.step)
        public static let purpose = Column(CodingKeys.purpose)
        public static let model = Column(CodingKeys.model)
        public static let provider = Column(CodingKeys.provider)
        public static let latency = Column(CodingKeys.latency)
        public static let lastAttemptLatency = Column(CodingKeys.lastAttemptLatency)
        public static let inputTokens = Column(CodingKeys.inputTokens)
        public static let outputTokens = Column(CodingKeys.outputTokens)
        public static let cacheReadTokens = Column(CodingKeys.cacheReadTokens)
        public static let cacheWriteTokens = Column(CodingKeys.cacheWriteTokens)
        public static let cacheWriteLongTokens = Column(CodingKeys.cacheWriteLongTokens)
        public static let reasoningTokens = Column(CodingKeys.reasoningTokens)
        public static let costUSD = Column(CodingKeys.costUSD)
        public static let stopReason = Column(CodingKeys.stopReason)
        public static let finishReason = Column(CodingKeys.finishReason)
        public static let attempts = Column(CodingKeys.attempts)
        public static let error = Column(CodingKeys.error)
        public static let createdAt = Column(CodingKeys.createdAt)
    }

    /// Every field, as stored.
    public init(
        id: Int64? = nil, runID: String, nodeID: String?, step: Int, purpose: CallPurpose, model: String, provider: CallProvider,
        latency: Double, lastAttemptLatency: Double, inputTokens: Int, outputTokens: Int, cacheReadTokens: Int? = nil,
        cacheWriteTokens: Int? = nil, reasoningTokens: Int? = nil, costUSD: Double?, stopReason: String? = nil,
        finishReason: String? = nil, attempts: Int, error: String? = nil, createdAt: Date = Date()
    ) {
        self.id = id
        self.runID = runID
        self.nodeID = nodeID
        self.step = step
        self.purpose = purpose
        self.model = model
        self.provider = provider
        self.latency = latency
        self.lastAttemptLatency = lastAttemptLatency
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.costUSD = costUSD
        self.stopReason = stopReason
        self.finishReason = finishReason
        self.attempts = attempts
        self.error = error
        self.createdAt = createdAt
    }

    /// A call that answered: tokens, cost, latency and reasons from its result.
    public init(
        runID: String, nodeID: String?, step: Int, purpose: CallPurpose, model: String, result: QueryResult,
        createdAt: Date = Date()
    ) {
        self.init(
            runID: runID, nodeID: nodeID, step: step, purpose: purpose, model: model, provider: result.info.provider,
            latency: result.latency, lastAttemptLatency: result.lastAttemptLatency, inputTokens: result.usage.input,
            outputTokens: result.usage.output, cacheReadTokens: result.usage.cacheRead,
            cacheWriteTokens: result.usage.cacheWrite, reasoningTokens: result.usage.reasoning, costUSD: result.costUSD,
            stopReason: result.info.stopReason, finishReason: result.info.finishReason?.rawValue,
            attempts: result.info.attempts, createdAt: createdAt)
        answeredModel = result.info.model
        cacheWriteLongTokens = result.usage.cacheWriteLong
        responseID = result.info.responseID
        systemFingerprint = result.info.systemFingerprint
        droppedOptions = Self.jsonList(result.info.droppedOptions)
        attemptFailures = Self.jsonList(result.info.failures)
        cutOffRetries = result.info.cutOffRetries > 0 ? result.info.cutOffRetries : nil
    }

    /// A list as JSON text for a column, nil when empty.
    static func jsonList(_ items: [String]) -> String? {
        guard !items.isEmpty else { return nil }
        return JSONValue.array(items.map { .string($0) }).jsonText
    }

    /// A JSON-list column read back.
    public static func list(_ column: String?) -> [String] {
        guard let column, let json = try? JSONValue.parse(Data(column.utf8)) else { return [] }
        return json.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// A call that failed: no tokens, no cost, `error` says why. `lastAttemptLatency` defaults to
    /// `latency` (one attempt).
    public init(
        runID: String, nodeID: String?, step: Int, purpose: CallPurpose, model: String, provider: CallProvider, error: String,
        latency: Double, lastAttemptLatency: Double? = nil, attempts: Int = 1, createdAt: Date = Date()
    ) {
        self.init(
            runID: runID, nodeID: nodeID, step: step, purpose: purpose, model: model, provider: provider,
            latency: latency, lastAttemptLatency: lastAttemptLatency ?? latency, inputTokens: 0, outputTokens: 0,
            costUSD: nil, attempts: attempts, error: error, createdAt: createdAt)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A `metrics` row: the run's cumulative figures after one step (the metrics journal).
public struct MetricsRecord: Codable, Sendable, Hashable, TimestampRecord, PersistableRecord {
    public static let databaseTableName = "metrics"

    public var runID: String
    public var step: Int
    /// The best node's validation metric so far; nil while no node is good.
    public var bestMetric: Double?
    public var bestTestScore: Double?
    public var bestNodeID: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
    /// Seconds since the run started.
    public var elapsed: Double
    /// Nodes made so far.
    public var nodes: Int
    public var buggyNodes: Int
    public var recordedAt: Date

    enum CodingKeys: String, CodingKey, CaseIterable {
        case runID = "run_id"
        case step
        case bestMetric = "best_metric"
        case bestTestScore = "best_test_score"
        case bestNodeID = "best_node_id"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case costUSD = "cost_usd"
        case elapsed, nodes
        case buggyNodes = "buggy_nodes"
        case recordedAt = "recorded_at"
    }

    /// Step order, as the table's primary key (run_id, step) holds it (a database holds one run):
    /// no sort.
    static let stepOrder = "run_id, step"

    /// The table's columns, for the query interface.
    public enum Columns {
        public static let runID = Column(CodingKeys.runID)
        public static let step = Column(CodingKeys.step)
        public static let bestMetric = Column(CodingKeys.bestMetric)
        public static let bestTestScore = Column(CodingKeys.bestTestScore)
        public static let bestNodeID = Column(CodingKeys.bestNodeID)
        public static let inputTokens = Column(CodingKeys.inputTokens)
        public static let outputTokens = Column(CodingKeys.outputTokens)
        public static let costUSD = Column(CodingKeys.costUSD)
        public static let elapsed = Column(CodingKeys.elapsed)
        public static let nodes = Column(CodingKeys.nodes)
        public static let buggyNodes = Column(CodingKeys.buggyNodes)
        public static let recordedAt = Column(CodingKeys.recordedAt)
    }

    public init(
        runID: String, step: Int, bestMetric: Double? = nil, bestTestScore: Double? = nil, bestNodeID: String? = nil,
        inputTokens: Int, outputTokens: Int, costUSD: Double, elapsed: Double, nodes: Int, buggyNodes: Int,
        recordedAt: Date = Date()
    ) {
        self.runID = runID
        self.step = step
        self.bestMetric = bestMetric
        self.bestTestScore = bestTestScore
        self.bestNodeID = bestNodeID
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.elapsed = elapsed
        self.nodes = nodes
        self.buggyNodes = buggyNodes
        self.recordedAt = recordedAt
    }
}

/// A `nodes` row. `Node` is the public face; this is its flat, nullable storage. Execution columns
/// are all NULL exactly when the node has no execution (`output IS NULL`), review columns exactly
/// when it has no review (`review_is_bug IS NULL`).
struct NodeRecord: Codable, Sendable, Hashable, TimestampRecord, PersistableRecord {
    static let databaseTableName = "nodes"

    var id: String
    var runID: String
    var parentID: String?
    /// Absent (nil) in files from before migration v2, which reports still read.
    var otherParentID: String?
    var step: Int
    var stage: String
    var plan: String
    var code: String
    var output: String?
    var outputBytes: Int?
    var execTime: Double?
    var exitCode: Int32?
    var signal: Int32?
    var timedOut: Bool?
    var exceptionType: String?
    var traceback: String?
    var reviewIsBug: Bool?
    var reviewSummary: String?
    var reviewMetric: Double?
    var metric: Double?
    var metricSource: String?
    var testScore: Double?
    var isBuggy: Bool
    /// JSON array of strings.
    var bugReasons: String
    var debugDepth: Int
    var error: String?
    var createdAt: Date
    var finishedAt: Date
    /// Absent (nil) in files from before "v6-nodes-slurm-job", and for scripts run locally.
    var slurmJobID: String?
    var slurmNode: String?
    var slurmState: String?
    var queueWait: Double?
    /// Absent (nil) in files from before migration v6-nodes-patch.
    var patch: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id
        case runID = "run_id"
        case parentID = "parent_id"
        case otherParentID = "other_parent_id"
        case step, stage, plan, code, output
        case outputBytes = "output_bytes"
        case execTime = "exec_time"
        case exitCode = "exit_code"
        case signal
        case timedOut = "timed_out"
        case exceptionType = "exception_type"
        case traceback
        case reviewIsBug = "review_is_bug"
        case reviewSummary = "review_summary"
        case reviewMetric = "review_metric"
        case metric
        case metricSource = "metric_source"
        case testScore = "test_score"
        case isBuggy = "is_buggy"
        case bugReasons = "bug_reasons"
        case debugDepth = "debug_depth"
        case error
        case createdAt = "created_at"
        case finishedAt = "finished_at"
        case slurmJobID = "slurm_job_id"
        case slurmNode = "slurm_node"
        case slurmState = "slurm_state"
        case queueWait = "queue_wait"
        case patch
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let step = Column(CodingKeys.step)
    }

    /// Step order, as the unique index on (run_id, step) holds it (a database holds one run):
    /// SQLite walks the index instead of sorting every row, code and output included, in a
    /// temporary file (a 10,000-node run's whole table, written and read back).
    static let stepOrder = "run_id, step"

    init(_ node: Node, runID: String) throws {
        id = node.id
        self.runID = runID
        parentID = node.parentID
        otherParentID = node.otherParentID
        step = node.step
        stage = node.stage.rawValue
        plan = node.plan
        code = node.code
        output = node.execution?.output
        outputBytes = node.execution?.outputBytes
        execTime = node.execution?.duration
        exitCode = node.execution?.exitCode
        signal = node.execution?.signal
        timedOut = node.execution?.timedOut
        exceptionType = node.execution?.exceptionType
        traceback = node.execution?.traceback
        slurmJobID = node.execution?.placement?.jobID
        slurmNode = node.execution?.placement?.node
        slurmState = node.execution?.placement?.state
        queueWait = node.execution?.placement?.queueWait
        reviewIsBug = node.review?.isBug
        reviewSummary = node.review?.summary
        reviewMetric = node.review?.metric
        metric = node.metric
        metricSource = node.metricSource?.rawValue
        testScore = node.testScore
        isBuggy = node.isBuggy
        bugReasons = String(decoding: try JSONEncoder().encode(node.bugReasons), as: UTF8.self)
        debugDepth = node.debugDepth
        error = node.error
        createdAt = node.createdAt
        finishedAt = node.finishedAt
        patch = node.patch
    }

    func node() throws -> Node {
        guard let stage = Stage(rawValue: stage) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [CodingKeys.stage], debugDescription: "node \(id): unknown stage \"\(stage)\""))
        }
        let source = try metricSource.map { text in
            guard let source = MetricSource(rawValue: text) else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: [CodingKeys.metricSource], debugDescription: "node \(id): unknown metric source \"\(text)\""))
            }
            return source
        }
        var execution: ExecutionResult?
        if let output {
            execution = ExecutionResult(
                output: output, outputBytes: outputBytes ?? 0, exitCode: exitCode, signal: signal,
                timedOut: timedOut ?? false, duration: execTime ?? 0, exceptionType: exceptionType,
                traceback: traceback)
            if let slurmJobID {
                execution?.placement = ScriptPlacement(
                    jobID: slurmJobID, node: slurmNode, queueWait: queueWait, state: slurmState)
            }
        }
        var review: Review?
        if let reviewIsBug {
            review = Review(isBug: reviewIsBug, summary: reviewSummary ?? "", metric: reviewMetric)
        }
        return Node(
            id: id, parentID: parentID, step: step, stage: stage, plan: plan, code: code, execution: execution,
            review: review, metric: metric, metricSource: source, testScore: testScore, isBuggy: isBuggy,
            bugReasons: bugReasons == "[]" ? [] : try JSONDecoder().decode([String].self, from: Data(bugReasons.utf8)),
            debugDepth: debugDepth, error: error, createdAt: createdAt, finishedAt: finishedAt,
            otherParentID: otherParentID, patch: patch)
    }
}

// MARK: - Reading many rows quickly

// Reports read every row of a run (30,000 and more for a 10,000-node run), where decoding each
// through Codable, by column name, costs most of the time. These queries name their columns in
// `CodingKeys` order and read each row by position. Every other read goes through Codable.

/// Where each coding key's column sits in a query that selects `CodingKeys.allCases` in order.
struct ColumnPositions<Key: CodingKey & CaseIterable & Hashable> {
    private let positions: [Key: Int]
    /// Whether a key's one-byte tag is its position (a plain enum's tag is its case's place in
    /// the declaration, which `allCases` follows): then reading a row hashes no key names.
    private let tagIsPosition: Bool

    init() {
        let keys = Array(Key.allCases)
        positions = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        tagIsPosition = MemoryLayout<Key>.size == 1 && keys.count <= 256
            && keys.enumerated().allSatisfy { index, key in withUnsafeBytes(of: key) { Int($0[0]) } == index }
    }

    subscript(key: Key) -> Int {
        tagIsPosition ? withUnsafeBytes(of: key) { Int($0[0]) } : positions[key]!
    }

    /// The columns, quoted, in order; `replacing` gives some an expression instead (`'' AS "code"`).
    /// A column `table` does not have (a file from before the migration that added it) reads as
    /// NULL, as Codable reads of such files do.
    static func selection(_ db: Database, table: String, replacing: [Key: String] = [:]) throws -> String {
        let present = Set(try db.columns(in: table).map(\.name))
        return Key.allCases.map { key in
            if let expression = replacing[key] { return expression }
            return present.contains(key.stringValue) ? "\"\(key.stringValue)\"" : "NULL AS \"\(key.stringValue)\""
        }.joined(separator: ", ")
    }
}

/// A date column that must hold a timestamp.
private func storedDate(_ row: Row, _ index: Int, _ table: String, _ column: String) throws -> Date {
    guard let date = Timestamp.date(row[index] as DatabaseValue) else {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(table).\(column) is not a timestamp"))
    }
    return date
}

extension NodeRecord {
    private static let position = ColumnPositions<CodingKeys>()
    static func selection(_ db: Database) throws -> String {
        try ColumnPositions<CodingKeys>.selection(db, table: databaseTableName)
    }

    /// Every column, except that plan, code and output read as empty text (output stays NULL when
    /// it is, so a node that ran still has an execution) and the traceback as NULL: what summaries
    /// need, without the bulk of the file.
    static func summarySelection(_ db: Database) throws -> String {
        try ColumnPositions<CodingKeys>.selection(db, table: databaseTableName, replacing: [
            .plan: "'' AS \"plan\"", .code: "'' AS \"code\"",
            .output: "CASE WHEN \"output\" IS NULL THEN NULL ELSE '' END AS \"output\"",
            .traceback: "NULL AS \"traceback\"", .patch: "NULL AS \"patch\"",
        ])
    }

    /// A row of a query selecting `selection(_:)` or `summarySelection(_:)`.
    init(positionalRow row: Row) throws {
        let p = Self.position
        id = try row.decode(atIndex: p[.id])
        runID = try row.decode(atIndex: p[.runID])
        parentID = try row.decode(atIndex: p[.parentID])
        otherParentID = try row.decode(atIndex: p[.otherParentID])
        step = try row.decode(atIndex: p[.step])
        stage = try row.decode(atIndex: p[.stage])
        plan = try row.decode(atIndex: p[.plan])
        code = try row.decode(atIndex: p[.code])
        output = try row.decode(atIndex: p[.output])
        outputBytes = try row.decode(atIndex: p[.outputBytes])
        execTime = try row.decode(atIndex: p[.execTime])
        exitCode = try row.decode(atIndex: p[.exitCode])
        signal = try row.decode(atIndex: p[.signal])
        timedOut = try row.decode(atIndex: p[.timedOut])
        exceptionType = try row.decode(atIndex: p[.exceptionType])
        traceback = try row.decode(atIndex: p[.traceback])
        reviewIsBug = try row.decode(atIndex: p[.reviewIsBug])
        reviewSummary = try row.decode(atIndex: p[.reviewSummary])
        reviewMetric = try row.decode(atIndex: p[.reviewMetric])
        metric = try row.decode(atIndex: p[.metric])
        metricSource = try row.decode(atIndex: p[.metricSource])
        testScore = try row.decode(atIndex: p[.testScore])
        isBuggy = try row.decode(atIndex: p[.isBuggy])
        bugReasons = try row.decode(atIndex: p[.bugReasons])
        debugDepth = try row.decode(atIndex: p[.debugDepth])
        error = try row.decode(atIndex: p[.error])
        createdAt = try storedDate(row, p[.createdAt], "nodes", "created_at")
        finishedAt = try storedDate(row, p[.finishedAt], "nodes", "finished_at")
        slurmJobID = try row.decode(atIndex: p[.slurmJobID])
        slurmNode = try row.decode(atIndex: p[.slurmNode])
        slurmState = try row.decode(atIndex: p[.slurmState])
        queueWait = try row.decode(atIndex: p[.queueWait])
        patch = try row.decode(atIndex: p[.patch])
    }
}

extension Node {
    /// The node as `NodeRecord.summarySelection` reads it: plan, code and output empty (a node
    /// that ran keeps its execution), no traceback, no patch.
    var summary: Node {
        var node = self
        node.plan = ""
        node.code = ""
        node.execution?.output = ""
        node.execution?.traceback = nil
        node.patch = nil
        return node
    }
}

extension LLMCallRecord {
    private static let position = ColumnPositions<CodingKeys>()
    static func selection(_ db: Database) throws -> String {
        try ColumnPositions<CodingKeys>.selection(db, table: databaseTableName)
    }

    /// A row of a query selecting `selection`.
    init(positionalRow row: Row) throws {
        let p = Self.position
        id = try row.decode(atIndex: p[.id])
        runID = try row.decode(atIndex: p[.runID])
        nodeID = try row.decode(atIndex: p[.nodeID])
        step = try row.decode(atIndex: p[.step])
        purpose = try row.decode(atIndex: p[.purpose])
        model = try row.decode(atIndex: p[.model])
        provider = try row.decode(atIndex: p[.provider])
        latency = try row.decode(atIndex: p[.latency])
        lastAttemptLatency = try row.decode(atIndex: p[.lastAttemptLatency])
        inputTokens = try row.decode(atIndex: p[.inputTokens])
        outputTokens = try row.decode(atIndex: p[.outputTokens])
        cacheReadTokens = try row.decode(atIndex: p[.cacheReadTokens])
        cacheWriteTokens = try row.decode(atIndex: p[.cacheWriteTokens])
        reasoningTokens = try row.decode(atIndex: p[.reasoningTokens])
        costUSD = try row.decode(atIndex: p[.costUSD])
        stopReason = try row.decode(atIndex: p[.stopReason])
        finishReason = try row.decode(atIndex: p[.finishReason])
        attempts = try row.decode(atIndex: p[.attempts])
        error = try row.decode(atIndex: p[.error])
        createdAt = try storedDate(row, p[.createdAt], "llm_calls", "created_at")
        answeredModel = try row.decode(atIndex: p[.answeredModel])
        cacheWriteLongTokens = try row.decode(atIndex: p[.cacheWriteLongTokens])
        responseID = try row.decode(atIndex: p[.responseID])
        systemFingerprint = try row.decode(atIndex: p[.systemFingerprint])
        droppedOptions = try row.decode(atIndex: p[.droppedOptions])
        attemptFailures = try row.decode(atIndex: p[.attemptFailures])
        cutOffRetries = try row.decode(atIndex: p[.cutOffRetries])
    }
}

extension MetricsRecord {
    private static let position = ColumnPositions<CodingKeys>()
    static func selection(_ db: Database) throws -> String {
        try ColumnPositions<CodingKeys>.selection(db, table: databaseTableName)
    }

    /// A row of a query selecting `selection`.
    init(positionalRow row: Row) throws {
        let p = Self.position
        runID = try row.decode(atIndex: p[.runID])
        step = try row.decode(atIndex: p[.step])
        bestMetric = try row.decode(atIndex: p[.bestMetric])
        bestTestScore = try row.decode(atIndex: p[.bestTestScore])
        bestNodeID = try row.decode(atIndex: p[.bestNodeID])
        inputTokens = try row.decode(atIndex: p[.inputTokens])
        outputTokens = try row.decode(atIndex: p[.outputTokens])
        costUSD = try row.decode(atIndex: p[.costUSD])
        elapsed = try row.decode(atIndex: p[.elapsed])
        nodes = try row.decode(atIndex: p[.nodes])
        buggyNodes = try row.decode(atIndex: p[.buggyNodes])
        recordedAt = try storedDate(row, p[.recordedAt], "metrics", "recorded_at")
    }
}


/// Timestamps as UTC text, `YYYY-MM-DD HH:MM:SS.ffffff`: what SQLite's date functions read, sorting
/// as time does, and exact — the fraction has as many digits as it takes to give back the same
/// `Date` (usually six), none when the time is a whole second.
/// A row whose dates are stored as `Timestamp` text (UTC, exact to the bit), as every table of a
/// run file and of a bench index stores them.
public protocol TimestampRecord: FetchableRecord, EncodableRecord {}

extension TimestampRecord {
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        Timestamp.encodingStrategy
    }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        Timestamp.decodingStrategy
    }
}

enum Timestamp {
    /// Seconds from 1970-01-01 to 2001-01-01, Foundation's reference date.
    private static let referenceOffset: Int64 = 978_307_200

    static let encodingStrategy = DatabaseDateEncodingStrategy.custom { text($0) }
    static let decodingStrategy = DatabaseDateDecodingStrategy.custom { date($0) }

    /// A stored timestamp: text as written by `text(_:)`, or Unix seconds.
    static func date(_ value: DatabaseValue) -> Date? {
        if let text = String.fromDatabaseValue(value) { return date(text) }
        if let unix = Double.fromDatabaseValue(value) { return Date(timeIntervalSince1970: unix) }
        return nil
    }

    static func text(_ date: Date) -> String {
        let reference = date.timeIntervalSinceReferenceDate
        guard reference.isFinite else { return "invalid" }
        let whole = reference.rounded(.down)
        let fraction = reference - whole  // exact: the low bits of `reference`
        var unix = time_t(Int64(whole) + referenceOffset)
        var parts = tm()
        gmtime_r(&unix, &parts)
        var text = String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        if fraction > 0 {
            for digits in 1...20 {
                let decimal = String(format: "%.\(digits)f", fraction)
                if decimal.hasPrefix("0."), let parsed = Double(decimal), whole + parsed == reference {
                    text += decimal.dropFirst()
                    break
                }
            }
        }
        return text
    }

    /// Reads `YYYY-MM-DD HH:MM:SS[.f…]` (or with `T`, with a trailing `Z`) as UTC. Works on the
    /// bytes at their fixed positions, in place: every stored row carries timestamps, and reports
    /// read tens of thousands of rows.
    static func date(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { date(utf8: $0) }
    }

    /// Powers of ten a `Double` holds exactly.
    private static let exactPowersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    private static func date(utf8 text: UnsafeBufferPointer<UInt8>) -> Date? {
        let bytes = text.last == UInt8(ascii: "Z") ? UnsafeBufferPointer(rebasing: text.dropLast()) : text
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard var year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        year -= month <= 2 ? 1 : 0
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        var reference = Double(days * 86_400 + hour * 3_600 + minute * 60 + second - referenceOffset)
        if bytes.count > 19 {
            let fraction = UnsafeBufferPointer(rebasing: bytes[20...])
            guard bytes[19] == UInt8(ascii: "."), !fraction.isEmpty,
                fraction.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 })
            else { return nil }
            if fraction.count <= 15 {
                // Up to 15 digits and a power of ten are both exact, and a division rounds
                // correctly: the same number as parsing the decimal.
                let digits = fraction.reduce(0) { $0 * 10 + Int64($1 &- UInt8(ascii: "0")) }
                reference += Double(digits) / exactPowersOfTen[fraction.count]
            } else {
                guard let value = Double("0" + String(decoding: bytes[19...], as: UTF8.self)) else { return nil }
                reference += value
            }
        }
        return Date(timeIntervalSinceReferenceDate: reference)
    }
}

extension CallPurpose: DatabaseValueConvertible {}
extension CallProvider: DatabaseValueConvertible {}
