import Foundation

// One description of a node for reading. Every report derives from it: a run report's `nodes`
// are `NodeView.Row`s; the report of one node is a `NodeDetail` (a `NodeView` in its run); the
// HTML page and `aide serve`'s live updates embed `NodeView.Row`s and, per node, its
// `NodeView.Body` (HTMLReport). JSON keys are the Codable keys below (docs/REPORT_JSON.md).
//
// A new field is one property (with its key) in `Row` (listed for every node of a run) or `Body`
// (shown for one node), and one line in the matching `init` from the stored `Node`: the JSON
// reports, the page and the live updates carry it from there. Text and markdown pick the fields
// they print (ReportRenderer).

/// One node as the reports read it: its row in the run's tree and the body shown for it alone.
/// Encoded flat: the row's keys and the body's side by side in one object.
@dynamicMemberLookup
public struct NodeView: Sendable, Codable, Hashable {
    public var row: Row
    public var body: Body

    public init(row: Row, body: Body) {
        self.row = row
        self.body = body
    }

    /// `node` with its LLM calls; `onBestPath` places it in its run.
    public init(_ node: Node, calls: [LLMCallRecord], onBestPath: Bool) {
        row = Row(node, onBestPath: onBestPath)
        body = Body(node, calls: calls)
    }

    public init(from decoder: any Decoder) throws {
        row = try Row(from: decoder)
        body = try Body(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try row.encode(to: encoder)
        try body.encode(to: encoder)
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<Row, Value>) -> Value {
        get { row[keyPath: path] }
        set { row[keyPath: path] = newValue }
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<Body, Value>) -> Value {
        get { body[keyPath: path] }
        set { body[keyPath: path] = newValue }
    }

    /// What every report lists for each node of a run (`nodes[]` in a run's JSON).
    public struct Row: Sendable, Codable, Hashable {
        public var id: String
        @Nullable public var parentID: String?
        /// A crossover's second parent.
        @Nullable public var otherParentID: String?
        public var step: Int
        public var stage: Stage
        @Nullable public var metric: Double?
        @Nullable public var testScore: Double?
        public var isBuggy: Bool
        public var bugReasons: [String]
        /// Nil when the code never ran.
        @Nullable public var execTime: Double?
        public var onBestPath: Bool

        enum CodingKeys: String, CodingKey {
            case id, step, stage, metric
            case parentID = "parent_id"
            case otherParentID = "other_parent_id"
            case testScore = "test_score"
            case isBuggy = "is_buggy"
            case bugReasons = "bug_reasons"
            case execTime = "exec_time"
            case onBestPath = "on_best_path"
        }

        public init(_ node: Node, onBestPath: Bool) {
            id = node.id
            parentID = node.parentID
            otherParentID = node.otherParentID
            step = node.step
            stage = node.stage
            metric = finite(node.metric)
            testScore = finite(node.testScore)
            isBuggy = node.isBuggy
            bugReasons = node.bugReasons
            execTime = node.execution.map(\.duration)
            self.onBestPath = onBestPath
        }
    }

    /// What a report shows for one node: plan, code, output, execution facts, review, its calls.
    public struct Body: Sendable, Codable, Hashable {
        public var plan: String
        public var code: String
        /// Nil when the code never ran; then every execution field is nil.
        @Nullable public var output: String?
        @Nullable public var exitCode: Int32?
        @Nullable public var signal: Int32?
        @Nullable public var timedOut: Bool?
        @Nullable public var exceptionType: String?
        @Nullable public var traceback: String?
        /// Where the script ran: `local`, or `Slurm job 42 on node7`; nil when it never ran.
        @Nullable public var ranOn: String?
        /// Seconds a Slurm job waited in the queue before it started; nil for a local script.
        @Nullable public var queueWait: Double?
        @Nullable public var review: Review?
        @Nullable public var metricSource: MetricSource?
        public var debugDepth: Int
        @Nullable public var error: String?
        public var createdAt: Date
        public var finishedAt: Date
        public var calls: [Call]
        /// The change against the parent's script as a diff, when the node's code was made by a
        /// SEARCH/REPLACE patch (`Patch.diff`).
        @Nullable public var diff: String?

        enum CodingKeys: String, CodingKey {
            case plan, code, output, signal, traceback, review, error, calls, diff
            case exitCode = "exit_code"
            case timedOut = "timed_out"
            case exceptionType = "exception_type"
            case ranOn = "ran_on"
            case queueWait = "queue_wait"
            case metricSource = "metric_source"
            case debugDepth = "debug_depth"
            case createdAt = "created_at"
            case finishedAt = "finished_at"
        }

        public init(_ node: Node, calls: [LLMCallRecord]) {
            plan = node.plan
            code = node.code
            output = node.execution?.output
            exitCode = node.execution?.exitCode
            signal = node.execution?.signal
            timedOut = node.execution?.timedOut
            exceptionType = node.execution?.exceptionType
            traceback = node.execution?.traceback
            ranOn = node.execution.map { $0.placement?.summary ?? "local" }
            queueWait = finite(node.execution?.placement?.queueWait)
            review = node.review.map { Review(isBug: $0.isBug, summary: $0.summary, metric: finite($0.metric)) }
            metricSource = node.metricSource
            debugDepth = node.debugDepth
            error = node.error
            createdAt = node.createdAt
            finishedAt = node.finishedAt
            self.calls = calls.map(Call.init)
            diff = node.patch.map(Patch.diff)
        }
    }

    /// The feedback model's reading of the node's output.
    public struct Review: Sendable, Codable, Hashable {
        public var isBug: Bool
        public var summary: String
        @Nullable public var metric: Double?

        enum CodingKeys: String, CodingKey {
            case summary, metric
            case isBug = "is_bug"
        }
    }

    /// One LLM call made for the node.
    public struct Call: Sendable, Codable, Hashable {
        public var purpose: CallPurpose
        public var model: String
        public var provider: CallProvider
        public var latency: Double
        public var inputTokens: Int
        public var outputTokens: Int
        @Nullable public var costUSD: Double?
        /// Input tokens read from the provider's prompt cache (a part of `inputTokens`).
        @Nullable public var cachedInputTokens: Int?
        /// Input tokens written to the provider's prompt cache (a part of `inputTokens`).
        @Nullable public var cacheWriteTokens: Int?
        /// USD the prompt cache saved on this call (negative when it only wrote); nil when the
        /// provider reported no cache use or the model's price is unknown.
        @Nullable public var cacheSavingsUSD: Double?
        public var attempts: Int
        @Nullable public var finishReason: String?
        @Nullable public var error: String?
        public var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case purpose, model, provider, latency, attempts, error
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case cacheSavingsUSD = "cache_savings_usd"
            case finishReason = "finish_reason"
            case createdAt = "created_at"
        }

        public init(_ call: LLMCallRecord) {
            purpose = call.purpose
            model = call.model
            provider = call.provider
            latency = call.latency
            inputTokens = call.inputTokens
            outputTokens = call.outputTokens
            costUSD = finite(call.costUSD)
            cachedInputTokens = call.cacheReadTokens
            cacheWriteTokens = call.cacheWriteTokens
            cacheSavingsUSD = call.cacheSavingsUSD
            attempts = call.attempts
            finishReason = call.finishReason
            error = call.error
            createdAt = call.createdAt
        }
    }
}
