import Foundation

/// Where a run's LLM answers come from.
public enum BackendSource: Sendable, Hashable {
    /// The providers' APIs; `baseURL` is the OpenAI-compatible server `compatible/…` models go to.
    case live(baseURL: String?)
    /// A JSON-lines file of scripted answers, read in order (tests and demos).
    case scripted(file: String)
}

/// What a run is asked to do beyond its task file: models, budgets, workers, overrides, the backend
/// and its cassettes. `aide run` and `aide bench` parse one of these; a bench stores it in its index
/// so every case (and a resumed bench) runs with exactly the same options.
///
/// A new option is a field here, a line in `apply(to:resuming:)` (and `validate()` when some values
/// make no sense), and its command-line spelling in the CLI's `RunOptionGroup`.
public struct RunOptions: Sendable, Codable, Hashable {
    /// `agent.code_model`.
    public var codeModel: String?
    /// `agent.feedback_model`.
    public var feedbackModel: String?
    /// `budget.steps`.
    public var steps: Int?
    /// `budget.time_limit`, in seconds.
    public var timeLimit: Double?
    /// `search.workers`.
    public var workers: Int?
    /// `search.seed` (a bench sets it per case).
    public var seed: UInt64?
    /// Any task field, `key.path=value`, applied to the task file's text before it is decoded.
    public var overrides: [String]
    public var source: BackendSource
    /// Cassettes to answer from (merged in order), before `source`.
    public var replay: [String]
    /// Send calls the cassettes cannot answer on to `source`, and record them.
    public var replayFallthrough: Bool
    /// The cassette every exchange (or, replaying, every new exchange) is appended to.
    public var record: String?
    /// `exec.sandbox`: how the run's scripts are isolated.
    public var sandbox: SandboxMode?

    /// Flat, as docs/BENCH_JSON.md gives them (`bench.run`).
    enum CodingKeys: String, CodingKey {
        case steps, workers, seed, overrides, scripted, replay, record, sandbox
        case baseURL = "base_url"
        case codeModel = "code_model"
        case feedbackModel = "feedback_model"
        case timeLimit = "time_limit"
        case replayFallthrough = "replay_fallthrough"
    }

    public init(
        codeModel: String? = nil, feedbackModel: String? = nil, steps: Int? = nil, timeLimit: Double? = nil,
        workers: Int? = nil, seed: UInt64? = nil, overrides: [String] = [], source: BackendSource = .live(baseURL: nil),
        replay: [String] = [], replayFallthrough: Bool = false, record: String? = nil, sandbox: SandboxMode? = nil
    ) {
        self.codeModel = codeModel
        self.feedbackModel = feedbackModel
        self.steps = steps
        self.timeLimit = timeLimit
        self.workers = workers
        self.seed = seed
        self.overrides = overrides
        self.source = source
        self.replay = replay
        self.replayFallthrough = replayFallthrough
        self.record = record
        self.sandbox = sandbox
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            codeModel: try c.decodeIfPresent(String.self, forKey: .codeModel),
            feedbackModel: try c.decodeIfPresent(String.self, forKey: .feedbackModel),
            steps: try c.decodeIfPresent(Int.self, forKey: .steps),
            timeLimit: try c.decodeIfPresent(Double.self, forKey: .timeLimit),
            workers: try c.decodeIfPresent(Int.self, forKey: .workers),
            seed: try c.decodeIfPresent(UInt64.self, forKey: .seed),
            overrides: try c.decodeIfPresent([String].self, forKey: .overrides) ?? [],
            source: try c.decodeIfPresent(String.self, forKey: .scripted).map { .scripted(file: $0) }
                ?? .live(baseURL: try c.decodeIfPresent(String.self, forKey: .baseURL)),
            replay: try c.decodeIfPresent([String].self, forKey: .replay) ?? [],
            replayFallthrough: try c.decodeIfPresent(Bool.self, forKey: .replayFallthrough) ?? false,
            record: try c.decodeIfPresent(String.self, forKey: .record),
            sandbox: try c.decodeIfPresent(SandboxMode.self, forKey: .sandbox))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(codeModel, forKey: .codeModel)
        try c.encode(feedbackModel, forKey: .feedbackModel)
        try c.encode(steps, forKey: .steps)
        try c.encode(timeLimit, forKey: .timeLimit)
        try c.encode(workers, forKey: .workers)
        try c.encode(seed, forKey: .seed)
        try c.encode(overrides, forKey: .overrides)
        switch source {
        case .live(let baseURL):
            try c.encode(baseURL, forKey: .baseURL)
            try c.encodeNil(forKey: .scripted)
        case .scripted(let file):
            try c.encodeNil(forKey: .baseURL)
            try c.encode(file, forKey: .scripted)
        }
        try c.encode(replay, forKey: .replay)
        try c.encode(replayFallthrough, forKey: .replayFallthrough)
        try c.encode(record, forKey: .record)
        try c.encode(sandbox, forKey: .sandbox)
    }

    /// Options that change what the run is (its task), not only how long it goes: a resumed run
    /// keeps those it was started with.
    public var changesTask: Bool {
        codeModel != nil || feedbackModel != nil || seed != nil || sandbox != nil || !overrides.isEmpty
    }

    /// These options without those that change the task (for resuming a run started with them).
    public var resumable: RunOptions {
        var options = self
        options.codeModel = nil
        options.feedbackModel = nil
        options.seed = nil
        options.sandbox = nil
        options.overrides = []
        return options
    }

    /// Checks values the types allow but a run cannot use.
    public func validate() throws(RunOptionsError) {
        if let steps, steps < 1 { throw .notPositive(.steps, Double(steps)) }
        if let workers, workers < 1 { throw .notPositive(.workers, Double(workers)) }
        if let timeLimit, !(timeLimit > 0) { throw .notPositive(.timeLimit, timeLimit) }
        for (field, model) in [(RunOptionsError.Field.codeModel, codeModel), (.feedbackModel, feedbackModel)] {
            if let model, model.trimmingCharacters(in: .whitespaces).isEmpty { throw .empty(field) }
        }
        if replayFallthrough, replay.isEmpty { throw .fallthroughWithoutReplay }
        if !replay.isEmpty, !replayFallthrough {
            if record != nil { throw .recordWhileReplaying }
            if case .scripted = source { throw .scriptedUnderReplay }
        }
        if replayFallthrough, record == nil, replay.count > 1 { throw .fallthroughNeedsRecord }
    }

    /// Sets the fields these options give. A resumed run (`resuming`) takes only the budgets and
    /// the workers: its task is the one it was started with.
    public func apply(to spec: inout TaskSpec, resuming: Bool = false) {
        if let steps { spec.budget.steps = steps }
        if let timeLimit { spec.budget.timeLimit = timeLimit }
        if let workers { spec.search.workers = workers }
        guard !resuming else { return }
        if let codeModel { spec.agent.codeModel = codeModel }
        if let feedbackModel { spec.agent.feedbackModel = feedbackModel }
        if let seed { spec.search.seed = seed }
        if let sandbox { spec.exec.sandbox = sandbox }
    }

    /// Loads a task file with these options (overrides on the text, typed fields on the spec).
    /// Blocking: the task's `prepare` may run.
    public func loadTask(_ file: URL) throws -> LoadedTask {
        try validate()
        return try TaskLoader.load(file, overrides: overrides) { apply(to: &$0) }
    }
}

/// Run options that cannot be used together or whose values make no sense.
public enum RunOptionsError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Field: String, Sendable { case codeModel = "code model", feedbackModel = "feedback model", steps, workers, timeLimit = "time limit" }
    case notPositive(Field, Double)
    case empty(Field)
    /// Falling through without a cassette to replay.
    case fallthroughWithoutReplay
    /// Recording while replaying without fall-through: nothing would be recorded.
    case recordWhileReplaying
    /// Scripted answers under a replay without fall-through: never asked.
    case scriptedUnderReplay
    /// Falling through with several cassettes: which one takes the new exchanges?
    case fallthroughNeedsRecord
    /// A resumed run keeps its task: only budgets and workers may change.
    case resumeChangesTask

    public var description: String {
        switch self {
        case .notPositive(let field, let value):
            return "the \(field.rawValue) must be more than 0, found \(value == value.rounded() ? String(Int(value)) : String(value))"
        case .empty(let field): return "the \(field.rawValue) must not be empty"
        case .fallthroughWithoutReplay: return "falling through to the model needs a cassette to replay"
        case .recordWhileReplaying: return "recording while replaying records only what the cassettes cannot answer: let those calls fall through"
        case .scriptedUnderReplay: return "scripted answers under a replay answer only what the cassettes cannot: let those calls fall through"
        case .fallthroughNeedsRecord: return "falling through with several cassettes needs a cassette to record the new exchanges in"
        case .resumeChangesTask: return "a resumed run keeps its task settings; only the step budget, the time limit and the workers may change"
        }
    }
}
