import Foundation

/// The options of one model in a task file (`agent.code` or `agent.feedback`); unset fields keep the
/// backend's defaults and are not sent.
public struct ModelSettings: Sendable, Codable, Hashable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    /// Extended-thinking budget in tokens (Anthropic, OpenRouter).
    public var thinkingBudget: Int?
    /// OpenAI reasoning models: `minimal`, `low`, `medium`, `high`.
    public var reasoningEffort: String?
    /// Anthropic beta features.
    public var betas: [String]?
    /// Provider parameters merged verbatim into the request body.
    public var extra: [String: JSONValue]?
    /// Stream this model's answers; nil follows `agent.stream`.
    public var stream: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case temperature, betas, extra, stream
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case thinkingBudget = "thinking_budget"
        case reasoningEffort = "reasoning_effort"
    }

    public init(
        maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, thinkingBudget: Int? = nil,
        reasoningEffort: String? = nil, betas: [String]? = nil, extra: [String: JSONValue]? = nil, stream: Bool? = nil
    ) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.thinkingBudget = thinkingBudget
        self.reasoningEffort = reasoningEffort
        self.betas = betas
        self.extra = extra
        self.stream = stream
    }

    /// The values `reasoning_effort` takes.
    public static let reasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh"]
}

/// `agent.retry`: how hard a run's LLM calls try before a step counts as failed.
public struct RetrySettings: Sendable, Codable, Hashable {
    public var maxAttempts: Int?
    /// Seconds from a call's first attempt after which no new attempt starts.
    public var maxElapsed: Double?
    public var initialDelay: Double?
    public var maxDelay: Double?
    /// Attempts at most when a 200 answer is malformed.
    public var malformedAttempts: Int?
    /// A streamed answer silent this long is abandoned and asked again.
    public var idleTimeout: Double?
    /// A whole (non-streamed) answer taking longer is abandoned and asked again.
    public var timeout: Double?
    public var connectTimeout: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeout
        case maxAttempts = "max_attempts"
        case maxElapsed = "max_elapsed"
        case initialDelay = "initial_delay"
        case maxDelay = "max_delay"
        case malformedAttempts = "malformed_attempts"
        case idleTimeout = "idle_timeout"
        case connectTimeout = "connect_timeout"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts)
        maxElapsed = try c.decodeIfPresent(Seconds.self, forKey: .maxElapsed)?.value
        initialDelay = try c.decodeIfPresent(Seconds.self, forKey: .initialDelay)?.value
        maxDelay = try c.decodeIfPresent(Seconds.self, forKey: .maxDelay)?.value
        malformedAttempts = try c.decodeIfPresent(Int.self, forKey: .malformedAttempts)
        idleTimeout = try c.decodeIfPresent(Seconds.self, forKey: .idleTimeout)?.value
        timeout = try c.decodeIfPresent(Seconds.self, forKey: .timeout)?.value
        connectTimeout = try c.decodeIfPresent(Seconds.self, forKey: .connectTimeout)?.value
    }

    /// The retry policy these settings give, the defaults filling what is unset.
    public var policy: RetryPolicy {
        let d = RetryPolicy()
        return RetryPolicy(
            maxAttempts: maxAttempts ?? d.maxAttempts, maxElapsed: maxElapsed ?? d.maxElapsed,
            initialDelay: initialDelay ?? d.initialDelay, maxDelay: maxDelay ?? d.maxDelay, jitter: d.jitter,
            malformedAttempts: malformedAttempts ?? d.malformedAttempts)
    }

    /// The HTTP timeouts these settings give, the defaults filling what is unset.
    public var timeouts: HTTPTimeouts {
        let d = HTTPTimeouts()
        return HTTPTimeouts(connect: connectTimeout ?? d.connect, total: timeout ?? d.total, idle: idleTimeout ?? d.idle)
    }
}

extension AgentSpec {
    /// The options of the code model's calls: `agent.code`, over the older flat keys.
    public var codeOptions: ModelOptions {
        var options = ModelOptions(model: codeModel, settings: code, temperature: codeTemperature, maxTokens: maxTokens, stream: stream)
        options.promptCache = promptCache
        return options
    }

    /// The options of the review model's calls: `agent.feedback`, over `feedback_temperature`.
    public var reviewOptions: ModelOptions {
        var options = ModelOptions(model: reviewModel, settings: feedback, temperature: feedbackTemperature, maxTokens: nil, stream: stream)
        options.promptCache = promptCache
        return options
    }

    /// Timeouts and retries of the run's calls.
    public var backendSettings: BackendSettings {
        let settings = retry ?? RetrySettings()
        return BackendSettings(timeouts: settings.timeouts, retry: settings.policy)
    }
}

extension ModelOptions {
    /// Options from a task file's model settings; `temperature`, `maxTokens` and `stream` are the
    /// values the flat keys give, used where the settings leave them unset.
    init(model: String, settings: ModelSettings?, temperature: Double, maxTokens: Int?, stream: Bool) {
        let s = settings ?? ModelSettings()
        self.init(
            model: model, temperature: s.temperature ?? temperature, topP: s.topP, maxTokens: s.maxTokens ?? maxTokens,
            thinkingBudget: s.thinkingBudget, stream: s.stream ?? stream, betas: s.betas ?? [], extra: s.extra ?? [:])
        reasoningEffort = s.reasoningEffort
    }
}
