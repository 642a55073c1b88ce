import Foundation

/// How a node came to be.
public enum Stage: String, Sendable, Codable, Hashable, CaseIterable {
    case draft
    case improve
    case debug
    /// A combination of two solutions (the evolutionary policy).
    case crossover
}

/// What an LLM call was for: making a node at its stage, or reviewing a node's run. Stored as
/// its raw value (`llm_calls.purpose`).
public enum CallPurpose: String, Sendable, Codable, Hashable, CaseIterable {
    case draft
    case improve
    case debug
    case crossover
    case review

    /// The call that makes a node of `stage`.
    public init(_ stage: Stage) {
        switch stage {
        case .draft: self = .draft
        case .improve: self = .improve
        case .debug: self = .debug
        case .crossover: self = .crossover
        }
    }
}

/// Where a node's metric came from. Stored as its raw value (`nodes.metric_source`).
public enum MetricSource: String, Sendable, Codable, Hashable, CaseIterable {
    /// The harness's own reading of the script's `Validation metric:` line (every node aide makes now).
    case output
    /// The review's reading: nodes of runs made before the harness read the output itself.
    case review
}

/// The feedback model's verdict on one run of a script (AIDE's `submit_review`).
public struct Review: Sendable, Codable, Hashable {
    public var isBug: Bool
    public var summary: String
    /// The validation metric the review read from the output, if any.
    public var metric: Double?

    public init(isBug: Bool, summary: String, metric: Double?) {
        self.isBug = isBug
        self.summary = summary
        self.metric = metric
    }
}

/// One solution in the search tree: its code, what running it did, and what it scored.
public struct Node: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var parentID: String?
    /// The second parent of a crossover node; nil for every other stage.
    public var otherParentID: String?
    /// Position in the run: 0 for the first node made, then 1, 2, …
    public var step: Int
    public var stage: Stage
    public var plan: String
    public var code: String
    /// The SEARCH/REPLACE blocks that made `code` from the parent's script, when the step was
    /// answered in diff form (`Patch`); nil for a whole script.
    public var patch: String?
    /// Nil when no code could be obtained (the node is buggy and `error` says why).
    public var execution: ExecutionResult?
    /// Nil when the review call failed (`error` says why; the metric may come from the output).
    public var review: Review?
    /// The validation metric, finite, when the node is good.
    public var metric: Double?
    /// Where `metric` came from.
    public var metricSource: MetricSource?
    /// Score on the hidden answers, graded by the harness; never shown to the agent.
    public var testScore: Double?
    public var isBuggy: Bool
    /// Why the node counts as buggy, in words ("raised ValueError", "no submission", …).
    public var bugReasons: [String]
    /// Number of consecutive debug steps that led here (0 for drafts and improvements).
    public var debugDepth: Int
    /// A failure of the harness around this node (no code block, review call failed, grading failed).
    public var error: String?
    public var createdAt: Date
    public var finishedAt: Date

    public init(
        id: String, parentID: String?, step: Int, stage: Stage, plan: String, code: String,
        execution: ExecutionResult? = nil, review: Review? = nil, metric: Double? = nil, metricSource: MetricSource? = nil,
        testScore: Double? = nil, isBuggy: Bool, bugReasons: [String] = [], debugDepth: Int = 0, error: String? = nil,
        createdAt: Date, finishedAt: Date, otherParentID: String? = nil, patch: String? = nil
    ) {
        self.patch = patch
        self.id = id
        self.parentID = parentID
        self.otherParentID = otherParentID
        self.step = step
        self.stage = stage
        self.plan = plan
        self.code = code
        self.execution = execution
        self.review = review
        self.metric = metric
        self.metricSource = metricSource
        self.testScore = testScore
        self.isBuggy = isBuggy
        self.bugReasons = bugReasons
        self.debugDepth = debugDepth
        self.error = error
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}
