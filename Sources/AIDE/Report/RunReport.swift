import Foundation

// What `aide report` shows, read from a run's database: a whole run (`RunReport`), one node
// (`NodeDetail`), the runs of a folder (`RunListing`) and several runs side by side
// (`RunComparison`). All are plain Codable values; their JSON (snake_case keys, `null` for none,
// `"schema": "aide.report/1"`) is documented in docs/REPORT_JSON.md.

/// A report that cannot be made; `ErrorText` words it for the person who asked.
public enum ReportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The folder the runs were looked for in is not there.
    case noRunsFolder(path: String)
    /// No node of the run has this id or id prefix.
    case noNode(reference: String, run: String, count: Int)
    /// Several nodes start with this prefix.
    case ambiguousNode(reference: String, run: String, matches: [String])
    /// The run has only buggy nodes so far.
    case noGoodNode(run: String, steps: Int)
    /// The run's stored task settings do not decode.
    case unreadableSettings(run: String, path: String)
    /// HTML was asked for a node, a listing or a comparison.
    case htmlShowsOneRun
    /// The run's database could not be opened or read.
    case store(StoreError)
    /// What the user named is no run folder, or not one aide can use.
    case workspace(WorkspaceError)
    /// Another failure while reading the run: its words (SQLite's, a decoder's or the file
    /// system's), which no type of ours holds.
    case unreadable(reason: String)

    /// Any failure to open or read a run, as a `ReportError` (kept as it is when it already is one).
    public static func reading(_ error: any Error) -> ReportError {
        switch error {
        case let error as ReportError: return error
        case let error as StoreError: return .store(error)
        case let error as WorkspaceError: return .workspace(error)
        default: return .unreadable(reason: ErrorText.line(error))
        }
    }

    public var description: String {
        switch self {
        case .noRunsFolder(let path): return "no runs folder \(path)"
        case .noNode(let reference, let run, let count):
            return "no node \(reference) in run \(run) (it has \(count) node\(count == 1 ? "" : "s"))"
        case .ambiguousNode(let reference, let run, let matches):
            return "node id \(reference) is ambiguous in run \(run): it starts " + matches.joined(separator: ", ")
        case .noGoodNode(let run, let steps):
            return "run \(run) has no good node yet (\(steps) node\(steps == 1 ? "" : "s"), all buggy)"
        case .unreadableSettings(let run, let path): return "cannot read the task settings of run \(run) in \(path)"
        case .htmlShowsOneRun: return "an HTML report shows one whole run, not a node, a listing or a comparison"
        case .store(let error): return error.description
        case .workspace(let error): return error.description
        case .unreadable(let reason): return reason
        }
    }
}

/// An optional encoded as `null` rather than left out, so every documented key is always present.
@propertyWrapper
public struct Nullable<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as `null`.
    public func decode<Value>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}

/// The schema name every report's JSON carries.
public enum ReportSchema {
    public static let name = "aide.report/1"

    /// Sorted keys, ISO 8601 dates, two-space indentation.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A finite number or nil (a report never holds NaN or infinities).
func finite(_ value: Double?) -> Double? {
    guard let value, value.isFinite else { return nil }
    return value
}

// MARK: - One run

public struct RunReport: Sendable, Codable, Hashable {
    public var schema: String = ReportSchema.name
    public var kind: String = "run"
    public var run: RunInfo
    public var counts: Counts
    @Nullable public var best: BestNode?
    /// Node ids from the root to the best node; empty when no node is good.
    public var bestPath: [String]
    /// Tokens and dollars per model, in order of first use.
    public var models: [ModelUsage]
    public var totals: Totals
    public var time: TimeSplit
    /// Ordered by step.
    public var nodes: [NodeView.Row]

    enum CodingKeys: String, CodingKey {
        case schema, kind, run, counts, best, models, totals, time, nodes
        case bestPath = "best_path"
    }

    public struct RunInfo: Sendable, Codable, Hashable {
        public var id: String
        public var task: String
        public var taskFile: String
        public var status: RunStatus
        @Nullable public var stopReason: String?
        public var startedAt: Date
        public var updatedAt: Date
        @Nullable public var finishedAt: Date?
        /// Seconds since the last write of a run marked running whose heartbeat stopped: its process
        /// ended without a word (killed, crashed, machine lost). Null for a live or ended run.
        @Nullable public var silentFor: Double?
        /// The metric the task declares, and whether lower or higher is better.
        public var metricName: String
        public var direction: MetricDirection
        /// The models the run called, in order of first use (the task's models when it made no call).
        public var models: [String]
        public var aideVersion: String
        /// How its scripts ran (`bwrap`, `none (…)`); null for runs older than the sandbox.
        @Nullable public var sandbox: String?

        enum CodingKeys: String, CodingKey {
            case id, task, status, direction, models, sandbox
            case taskFile = "task_file"
            case stopReason = "stop_reason"
            case startedAt = "started_at"
            case updatedAt = "updated_at"
            case finishedAt = "finished_at"
            case silentFor = "silent_for"
            case metricName = "metric_name"
            case aideVersion = "aide_version"
        }
    }

    public struct Counts: Sendable, Codable, Hashable {
        /// Nodes made (one per step that made a node).
        public var steps: Int
        public var good: Int
        public var buggy: Int
    }

    public struct BestNode: Sendable, Codable, Hashable {
        public var id: String
        public var step: Int
        public var metric: Double
        @Nullable public var testScore: Double?

        enum CodingKeys: String, CodingKey {
            case id, step, metric
            case testScore = "test_score"
        }
    }

    public struct ModelUsage: Sendable, Codable, Hashable {
        public var model: String
        public var calls: Int
        public var failedCalls: Int
        public var inputTokens: Int
        public var outputTokens: Int
        /// Nil when no call of this model had a known price.
        @Nullable public var costUSD: Double?
        /// Seconds spent in this model's calls.
        public var latency: Double
        /// Input tokens read from the provider's prompt cache (a part of `inputTokens`).
        public var cachedInputTokens: Int = 0
        /// Input tokens written to the provider's prompt cache (a part of `inputTokens`).
        public var cacheWriteTokens: Int = 0
        /// USD the prompt cache saved (`LLMCallRecord.cacheSavingsUSD`, summed).
        public var cacheSavingsUSD: Double = 0

        enum CodingKeys: String, CodingKey {
            case model, calls, latency
            case failedCalls = "failed_calls"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case cacheSavingsUSD = "cache_savings_usd"
        }
    }

    public struct Totals: Sendable, Codable, Hashable {
        public var calls: Int
        public var inputTokens: Int
        public var outputTokens: Int
        /// Dollars over calls of known price.
        public var costUSD: Double
        /// Input tokens read from the provider's prompt cache (a part of `inputTokens`).
        public var cachedInputTokens: Int = 0
        /// Input tokens written to the provider's prompt cache.
        public var cacheWriteTokens: Int = 0
        /// USD the prompt cache saved over the run.
        public var cacheSavingsUSD: Double = 0

        enum CodingKeys: String, CodingKey {
            case calls
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case cacheSavingsUSD = "cache_savings_usd"
        }
    }

    public struct TimeSplit: Sendable, Codable, Hashable {
        /// Seconds the run has lasted (time before a resume included).
        public var wall: Double
        /// Sum of LLM call latencies.
        public var llm: Double
        /// Sum of script execution times.
        public var execution: Double
    }

    /// Reads the store in one transaction (never holding up a writer) and builds the report. The
    /// report shows no plan, code or output, so it reads none.
    public static func load(_ store: RunStore) throws -> RunReport {
        try RunReport(snapshot: store.summarySnapshot(), path: store.path.path)
    }

    /// The report of a snapshot; `path` names the file in errors.
    /// `now` tells a live run (its heartbeat fresh) from one whose process is gone.
    public init(snapshot: RunSnapshot, path: String, now: Date = Date()) throws {
        guard let run = snapshot.run else { throw ReportError.store(.noRun(path: path)) }
        let spec: TaskSpec
        do {
            spec = try run.spec()
        } catch {
            throw ReportError.unreadableSettings(run: run.id, path: path)
        }
        let nodes = snapshot.nodes
        let journal = Journal(direction: spec.metric.direction, nodes: nodes)
        let bestNode = run.bestNodeID.flatMap { journal[$0] }.flatMap { $0.isBuggy ? nil : $0 } ?? journal.best
        let path = bestNode.map { journal.path(to: $0.id).map(\.id) } ?? []
        let onPath = Set(path)

        // Models in the order of their first call; one lookup of the model's name per call.
        var models: [ModelUsage] = []
        var modelIndex: [String: Int] = [:]
        for call in snapshot.calls {
            let at: Int
            if let known = modelIndex[call.model] {
                at = known
            } else {
                at = models.count
                modelIndex[call.model] = at
                models.append(ModelUsage(
                    model: call.model, calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUSD: nil,
                    latency: 0))
            }
            models[at].calls += 1
            if call.error != nil { models[at].failedCalls += 1 }
            models[at].inputTokens += call.inputTokens
            models[at].outputTokens += call.outputTokens
            if let cost = finite(call.costUSD) { models[at].costUSD = (models[at].costUSD ?? 0) + cost }
            models[at].latency += call.latency
            models[at].cachedInputTokens += call.cacheReadTokens ?? 0
            models[at].cacheWriteTokens += call.cacheWriteTokens ?? 0
            models[at].cacheSavingsUSD += finite(call.cacheSavingsUSD) ?? 0
        }
        let modelOrder = models.map(\.model)
        var taskModels = [spec.agent.codeModel]
        if let feedback = spec.agent.feedbackModel, feedback != spec.agent.codeModel { taskModels.append(feedback) }

        let llm = snapshot.calls.reduce(0) { $0 + $1.latency }
        let execution = nodes.reduce(0) { $0 + ($1.execution?.duration ?? 0) }
        let wall = snapshot.metrics.last?.elapsed
            ?? (run.finishedAt ?? run.updatedAt).timeIntervalSince(run.startedAt)

        self.run = RunInfo(
            id: run.id, task: run.taskName, taskFile: run.taskFile, status: run.status, stopReason: run.stopReason,
            startedAt: run.startedAt, updatedAt: run.updatedAt, finishedAt: run.finishedAt,
            silentFor: RunHeartbeat.silence(status: run.status, updatedAt: run.updatedAt, now: now),
            metricName: spec.metric.name, direction: spec.metric.direction,
            models: modelOrder.isEmpty ? taskModels : modelOrder, aideVersion: run.aideVersion, sandbox: run.sandbox)
        let good = nodes.filter { !$0.isBuggy }.count
        counts = Counts(steps: nodes.count, good: good, buggy: nodes.count - good)
        best = bestNode.flatMap { node in
            finite(node.metric).map { BestNode(id: node.id, step: node.step, metric: $0, testScore: finite(node.testScore)) }
        }
        bestPath = path
        self.models = models
        totals = Totals(
            calls: snapshot.calls.count, inputTokens: models.reduce(0) { $0 + $1.inputTokens },
            outputTokens: models.reduce(0) { $0 + $1.outputTokens },
            costUSD: models.reduce(0) { $0 + ($1.costUSD ?? 0) },
            cachedInputTokens: models.reduce(0) { $0 + $1.cachedInputTokens },
            cacheWriteTokens: models.reduce(0) { $0 + $1.cacheWriteTokens },
            cacheSavingsUSD: models.reduce(0) { $0 + $1.cacheSavingsUSD })
        time = TimeSplit(wall: max(0, wall), llm: llm, execution: execution)
        self.nodes = nodes.map { NodeView.Row($0, onBestPath: onPath.contains($0.id)) }
    }

    /// Steps run until the best node was made (its step + 1); nil without a good node.
    public var stepsToBest: Int? { best.map { $0.step + 1 } }
}

// MARK: - Opening runs

extension RunReport {
    /// Opens a run read-only from what a user typed (a run id under `runsDirectory`, a run folder,
    /// or a run.sqlite), with every failure as a one-line `ReportError`.
    public static func openStore(_ reference: String, runsDirectory: URL) throws -> RunStore {
        let workspace: RunWorkspace
        do {
            workspace = try RunWorkspace.locate(reference, runsDirectory: runsDirectory)
        } catch {
            throw ReportError.reading(error)
        }
        do {
            return try RunStore.openReadOnly(path: workspace.database)
        } catch {
            throw ReportError.reading(error)
        }
    }

    /// Opens and reads a run; every failure is a one-line `ReportError`.
    public static func load(_ reference: String, runsDirectory: URL) throws -> (report: RunReport, store: RunStore) {
        let store = try openStore(reference, runsDirectory: runsDirectory)
        do {
            return (try load(store), store)
        } catch {
            throw ReportError.reading(error)
        }
    }

    /// An error's text on one line.
    static func oneLine(_ error: any Error) -> String {
        ErrorText.line(error)
    }
}

// MARK: - One node

/// Everything about one node (the report of one node): its `NodeView` and its place in the run.
/// Encoded flat: the envelope's keys beside the view's.
@dynamicMemberLookup
public struct NodeDetail: Sendable, Codable, Hashable {
    public var schema: String = ReportSchema.name
    public var kind: String = "node"
    public var runID: String
    /// Ids of the nodes made from this one, by step.
    public var children: [String]
    public var isBest: Bool
    public var node: NodeView

    enum CodingKeys: String, CodingKey {
        case schema, kind, children
        case runID = "run_id"
        case isBest = "is_best"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(String.self, forKey: .schema)
        kind = try container.decode(String.self, forKey: .kind)
        runID = try container.decode(String.self, forKey: .runID)
        children = try container.decode([String].self, forKey: .children)
        isBest = try container.decode(Bool.self, forKey: .isBest)
        node = try NodeView(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(kind, forKey: .kind)
        try container.encode(runID, forKey: .runID)
        try container.encode(children, forKey: .children)
        try container.encode(isBest, forKey: .isBest)
        try node.encode(to: encoder)
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<NodeView.Row, Value>) -> Value {
        get { node.row[keyPath: path] }
        set { node.row[keyPath: path] = newValue }
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<NodeView.Body, Value>) -> Value {
        get { node.body[keyPath: path] }
        set { node.body[keyPath: path] = newValue }
    }

    /// The node `reference` names in the store's run: its whole id, or a prefix of exactly one id.
    /// Throws a one-line `ReportError` for no match or several.
    public static func load(_ store: RunStore, node reference: String) throws -> NodeDetail {
        let snapshot: RunSnapshot
        do {
            snapshot = try store.snapshot()
        } catch {
            throw ReportError.reading(error)
        }
        let report = try RunReport(snapshot: snapshot, path: store.path.path)
        return try NodeDetail(snapshot: snapshot, report: report, node: reference)
    }

    init(snapshot: RunSnapshot, report: RunReport, node reference: String) throws {
        let nodes = snapshot.nodes
        var matches = nodes.filter { $0.id == reference }
        if matches.isEmpty, !reference.isEmpty { matches = nodes.filter { $0.id.hasPrefix(reference) } }
        guard let node = matches.first else {
            throw ReportError.noNode(reference: reference, run: report.run.id, count: nodes.count)
        }
        guard matches.count == 1 else {
            throw ReportError.ambiguousNode(reference: reference, run: report.run.id, matches: matches.map(\.id))
        }
        runID = report.run.id
        children = nodes.filter { $0.parentID == node.id }.map(\.id)
        isBest = report.best?.id == node.id
        self.node = NodeView(
            node, calls: snapshot.calls.filter { $0.nodeID == node.id },
            onBestPath: report.bestPath.contains(node.id))
    }
}

extension RunReport {
    /// The best node's code; a run without a good node is an error.
    public static func bestCode(_ store: RunStore) throws -> String {
        let snapshot: RunSnapshot
        do {
            snapshot = try store.snapshot()
        } catch {
            throw ReportError.reading(error)
        }
        let report = try RunReport(snapshot: snapshot, path: store.path.path)
        guard let best = report.best, let node = snapshot.nodes.first(where: { $0.id == best.id }) else {
            throw ReportError.noGoodNode(run: report.run.id, steps: report.counts.steps)
        }
        return node.code
    }
}

// MARK: - Many runs

/// One row per run under a runs folder.
public struct RunListing: Sendable, Codable, Hashable {
    public var schema: String = ReportSchema.name
    public var kind: String = "listing"
    public var runsDirectory: String
    /// Ordered by start time; unreadable runs last.
    public var runs: [Row]

    enum CodingKeys: String, CodingKey {
        case schema, kind, runs
        case runsDirectory = "runs_directory"
    }

    public struct Row: Sendable, Codable, Hashable {
        public var id: String
        @Nullable public var task: String?
        @Nullable public var status: RunStatus?
        public var steps: Int
        @Nullable public var bestMetric: Double?
        @Nullable public var bestTestScore: Double?
        public var costUSD: Double
        @Nullable public var startedAt: Date?
        /// The run row's last write: a commit, a status change or the heartbeat.
        @Nullable public var updatedAt: Date?
        /// Why the run could not be read; nil for a readable run.
        @Nullable public var error: String?

        enum CodingKeys: String, CodingKey {
            case id, task, status, steps, error
            case bestMetric = "best_metric"
            case bestTestScore = "best_test_score"
            case costUSD = "cost_usd"
            case startedAt = "started_at"
            case updatedAt = "updated_at"
        }

        init(_ report: RunReport) {
            id = report.run.id
            task = report.run.task
            status = report.run.status
            steps = report.counts.steps
            bestMetric = report.best?.metric
            bestTestScore = report.best?.testScore
            costUSD = report.totals.costUSD
            startedAt = report.run.startedAt
            // Whole seconds, as its JSON says it (so a row read back from JSON is the same row).
            updatedAt = Date(timeIntervalSince1970: report.run.updatedAt.timeIntervalSince1970.rounded(.down))
            error = nil
        }

        init(unreadable id: String, error: String) {
            self.id = id
            task = nil
            status = nil
            steps = 0
            bestMetric = nil
            bestTestScore = nil
            costUSD = 0
            startedAt = nil
            updatedAt = nil
            self.error = error
        }
    }

    /// Every folder of `runsDirectory` that holds a run.sqlite, read-only. A run that cannot be
    /// read is a row with its error; a missing folder is an error.
    public static func load(runsDirectory: URL) throws -> RunListing {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: runsDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError.noRunsFolder(path: runsDirectory.path)
        }
        let names = (try? files.contentsOfDirectory(atPath: runsDirectory.path)) ?? []
        var rows: [Row] = []
        for name in names.sorted() {
            let database = runsDirectory.appendingPathComponent(name).appendingPathComponent(RunStore.fileName)
            guard files.fileExists(atPath: database.path) else { continue }
            do {
                let store = try RunStore.openReadOnly(path: database)
                defer { try? store.close() }
                rows.append(Row(try RunReport.load(store)))
            } catch {
                rows.append(Row(unreadable: name, error: RunReport.oneLine(error)))
            }
        }
        rows.sort { a, b in
            switch (a.startedAt, b.startedAt) {
            case let (x?, y?): return x != y ? x < y : a.id < b.id
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.id < b.id
            }
        }
        return RunListing(runsDirectory: runsDirectory.path, runs: rows)
    }
}

/// Several runs side by side: what each reached, how fast, at what cost.
public struct RunComparison: Sendable, Codable, Hashable {
    public var schema: String = ReportSchema.name
    public var kind: String = "comparison"
    /// In the order given.
    public var runs: [Row]
    /// The run with the best metric, when every run optimizes in the same direction and one has a good node.
    @Nullable public var bestRun: String?

    enum CodingKeys: String, CodingKey {
        case schema, kind, runs
        case bestRun = "best_run"
    }

    public struct Row: Sendable, Codable, Hashable {
        public var id: String
        public var task: String
        public var status: RunStatus
        public var direction: MetricDirection
        @Nullable public var bestNodeID: String?
        @Nullable public var bestMetric: Double?
        @Nullable public var bestTestScore: Double?
        public var steps: Int
        /// Steps run until the best node was made (its step + 1); nil without a good node.
        @Nullable public var stepsToBest: Int?
        public var inputTokens: Int
        public var outputTokens: Int
        public var costUSD: Double
        public var time: RunReport.TimeSplit

        enum CodingKeys: String, CodingKey {
            case id, task, status, direction, steps, time
            case bestNodeID = "best_node_id"
            case bestMetric = "best_metric"
            case bestTestScore = "best_test_score"
            case stepsToBest = "steps_to_best"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
        }
    }

    public init(reports: [RunReport]) {
        runs = reports.map { report in
            Row(
                id: report.run.id, task: report.run.task, status: report.run.status, direction: report.run.direction,
                bestNodeID: report.best?.id, bestMetric: report.best?.metric, bestTestScore: report.best?.testScore,
                steps: report.counts.steps, stepsToBest: report.stepsToBest, inputTokens: report.totals.inputTokens,
                outputTokens: report.totals.outputTokens, costUSD: report.totals.costUSD, time: report.time)
        }
        var winner: Row?
        if Set(runs.map(\.direction)).count == 1 {
            for row in runs {
                guard let metric = row.bestMetric else { continue }
                if let current = winner?.bestMetric, !row.direction.isBetter(metric, than: current) { continue }
                winner = row
            }
        }
        bestRun = winner?.id
    }
}
