import Foundation

/// Model options of one query. Options left nil are not sent to the provider.
public struct ModelOptions: Sendable, Hashable, Codable {
    /// Model name, optionally `provider/model` (see `ModelRouter`).
    public var model: String
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var stop: [String]?
    /// Extended-thinking budget in tokens (Anthropic; OpenRouter's reasoning.max_tokens).
    public var thinkingBudget: Int?
    /// OpenAI reasoning models' `reasoning_effort` (`low`, `medium`, `high`, …).
    public var reasoningEffort: String? = nil
    /// Use the provider's streaming endpoint; the result is the same as without it.
    public var stream: Bool
    /// Anthropic beta features, sent as `anthropic-beta`.
    public var betas: [String]
    /// Anthropic server-side tools (web search, code execution), passed through as given.
    public var serverTools: [JSONValue]
    /// Provider parameters merged verbatim into the request body (they win over the fields above).
    public var extra: [String: JSONValue]
    /// Caching of the system message (the run's stable prefix); nil asks for none. Like
    /// `stream`, it changes what a call costs, never what it answers.
    public var promptCache: PromptCacheSetting? = nil
    /// OpenAI's `prompt_cache_key`: calls with the same key share a cache (one per run).
    public var promptCacheKey: String? = nil
    /// Functions every cached call of a run carries, whether it asks for one or not, so that its calls
    /// share one cached prefix: Anthropic caches the tools before the system message, so a review's
    /// function would otherwise start a prefix of its own. A call that forces none of them sends
    /// them with `tool_choice: none` (which Anthropic keeps out of the tools and system cache).
    /// Sent only with a cache breakpoint; other providers ignore it.
    public var cachedFunctions: [FunctionSpec]? = nil

    public init(
        model: String, temperature: Double? = nil, topP: Double? = nil, maxTokens: Int? = nil,
        stop: [String]? = nil, thinkingBudget: Int? = nil, stream: Bool = false, betas: [String] = [],
        serverTools: [JSONValue] = [], extra: [String: JSONValue] = [:]
    ) {
        self.model = model
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.thinkingBudget = thinkingBudget
        self.stream = stream
        self.betas = betas
        self.serverTools = serverTools
        self.extra = extra
    }
}

/// What the model answered: text, or the arguments of the forced function call.
public enum QueryOutput: Sendable, Hashable, Codable {
    case text(String)
    case functionCall(name: String, arguments: JSONValue)

    /// The text, when the output is text.
    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    /// The parsed arguments, when the output is a function call.
    public var arguments: JSONValue? {
        if case .functionCall(_, let arguments) = self { return arguments }
        return nil
    }
}

/// Token counts of one query. `input` counts every prompt token, cached ones included.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var input: Int
    public var output: Int
    /// Prompt tokens served from the provider's cache (a part of `input`).
    public var cacheRead: Int?
    /// Prompt tokens written to the provider's cache (a part of `input`).
    public var cacheWrite: Int?
    /// Of `cacheWrite`, the tokens written with the one-hour lifetime (priced higher).
    public var cacheWriteLong: Int? = nil
    /// Hidden reasoning tokens (a part of `output`).
    public var reasoning: Int?

    public init(input: Int, output: Int, cacheRead: Int? = nil, cacheWrite: Int? = nil, reasoning: Int? = nil) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
        self.reasoning = reasoning
    }
}

/// Why generation stopped, in one vocabulary for every provider.
public enum FinishReason: String, Sendable, Hashable, Codable {
    case stop
    case length
    case functionCall = "function_call"
    case contentFilter = "content_filter"
}

/// Who answered (or failed) a call, as stored (`llm_calls.provider`, cassettes, reports): a provider's
/// API, the answers file of a scripted run, or `unknown` for a failed call whose model routes to no
/// provider. A replayed call keeps the provider it was recorded from.
public enum CallProvider: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case anthropic
    case openai
    case openrouter
    case gemini
    case compatible
    /// Answers read from a file (`ScriptedBackend`).
    case scripted
    /// A call that failed before a provider was chosen: its model name routes to none (`anthropic/`).
    case unknown

    /// The provider's API a model was routed to (every `Provider` has its case of the same name:
    /// RunStoreTests checks it).
    public init(_ provider: Provider) {
        self = CallProvider(rawValue: provider.rawValue) ?? .unknown
    }

    /// The provider a model name goes to by its prefix alone (no configuration consulted); `unknown`
    /// when it goes to none.
    public init(model: String) {
        self = (try? ModelRouter.route(model, compatibleBaseURL: nil)).map { CallProvider($0.provider) } ?? .unknown
    }

    public var description: String { rawValue }
}

/// Everything about a query besides its output.
public struct QueryInfo: Sendable, Hashable, Codable {
    public var provider: CallProvider
    /// The model as the provider answered it.
    public var model: String?
    public var responseID: String?
    /// The provider's own stop / finish reason.
    public var stopReason: String?
    /// `stopReason` mapped; nil when the provider's reason has no mapping.
    public var finishReason: FinishReason?
    public var systemFingerprint: String?
    /// Unix time the provider stamped on the response.
    public var created: Int?
    /// Extended-thinking or reasoning text, when the provider returns it.
    public var thinking: String?
    /// Number of HTTP attempts made, retries included.
    public var attempts: Int
    /// What each failed attempt failed with, in order (empty when the first attempt answered).
    public var failures: [String] = []
    /// Times the answer was cut off (finish reason `length`) and asked again with a larger max_tokens.
    public var cutOffRetries: Int = 0
    /// Whether the answer was streamed.
    public var streamed: Bool
    /// Server-side tool blocks (web search, code execution results), kept as sent.
    public var serverToolBlocks: [JSONValue]
    /// Options the model cannot take and that were therefore not sent.
    public var droppedOptions: [String]

    public init(
        provider: CallProvider, model: String? = nil, responseID: String? = nil, stopReason: String? = nil,
        finishReason: FinishReason? = nil, systemFingerprint: String? = nil, created: Int? = nil,
        thinking: String? = nil, attempts: Int = 1, streamed: Bool = false, serverToolBlocks: [JSONValue] = [],
        droppedOptions: [String] = []
    ) {
        self.provider = provider
        self.model = model
        self.responseID = responseID
        self.stopReason = stopReason
        self.finishReason = finishReason
        self.systemFingerprint = systemFingerprint
        self.created = created
        self.thinking = thinking
        self.attempts = attempts
        self.streamed = streamed
        self.serverToolBlocks = serverToolBlocks
        self.droppedOptions = droppedOptions
    }
}

/// The result of `Backend.query`.
public struct QueryResult: Sendable, Hashable, Codable {
    public var output: QueryOutput
    /// Wall seconds of the whole call, retries and backoff included.
    public var latency: Double
    /// Wall seconds of the last HTTP attempt alone.
    public var lastAttemptLatency: Double
    public var usage: TokenUsage
    /// Cost in USD from the model table; nil when the model is not in it.
    public var costUSD: Double?
    public var info: QueryInfo

    public init(
        output: QueryOutput, latency: Double, lastAttemptLatency: Double, usage: TokenUsage, costUSD: Double?,
        info: QueryInfo
    ) {
        self.output = output
        self.latency = latency
        self.lastAttemptLatency = lastAttemptLatency
        self.usage = usage
        self.costUSD = costUSD
        self.info = info
    }
}

/// A piece of a streamed answer, delivered as it arrives.
public enum StreamDelta: Sendable, Hashable {
    case text(String)
    case thinking(String)
    case functionArguments(String)
}

/// Receives stream deltas live; called on an arbitrary thread, in order.
public typealias StreamObserver = @Sendable (StreamDelta) -> Void

/// One LLM provider behind one call.
public protocol Backend: Sendable {
    /// Asks the model. With `funcSpec`, the model is forced to call that function and the output is its
    /// arguments. With an `observer`, the answer is streamed and each delta is passed to it live.
    func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult
}

extension Backend {
    /// `query` without a live observer (streams only if `options.stream` is set).
    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec? = nil, options: ModelOptions
    ) async throws -> QueryResult {
        try await query(system: system, user: user, funcSpec: funcSpec, options: options, observer: nil)
    }
}
