import Foundation

/// Anthropic's Messages API (`POST /v1/messages`), whole or streamed.
public struct AnthropicBackend: Backend {
    public static let apiVersion = "2023-06-01"
    /// Used when the caller sets no max_tokens and the model table allows as many.
    public static let defaultMaxTokens = 4096
    /// The smallest extended-thinking budget the API accepts.
    public static let minimumThinkingBudget = 1024

    private let endpoint: ProviderEndpoint
    private let exchange: ProviderExchange

    public init(endpoint: ProviderEndpoint, http: HTTPClient, settings: BackendSettings = BackendSettings()) {
        self.endpoint = endpoint
        self.exchange = ProviderExchange(provider: CallProvider(endpoint.provider), http: http, settings: settings)
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let streaming = options.stream || observer != nil
        let (body, dropped) = try Self.requestBody(
            system: system, user: user, funcSpec: funcSpec, options: options, streaming: streaming)
        var headers: [(name: String, value: String)] = [
            ("anthropic-version", Self.apiVersion),
            ("accept", streaming ? "text/event-stream" : "application/json"),
        ]
        if let key = endpoint.apiKey { headers.append(("x-api-key", key)) }
        var betas = options.betas
        if body["system"]?.arrayValue?.last?["cache_control"]?["ttl"] != nil, !betas.contains(PromptCacheSetting.extendedTTLBeta) {
            betas.append(PromptCacheSetting.extendedTTLBeta)
        }
        if !betas.isEmpty { headers.append(("anthropic-beta", betas.joined(separator: ","))) }
        let request = HTTPRequest.postJSON(url: endpoint.baseURL + "/v1/messages", body: body.serialized(), headers: headers)

        let provider = exchange.provider
        let outcome = try await exchange.perform(
            request, streaming: streaming, folder: { AnthropicStreamFolder(provider: provider) },
            decode: { try AnthropicMessage(body: $0, provider: provider) }, observer: observer)
        return try outcome.result(
            funcSpec: funcSpec, provider: provider, askedModel: options.model, streamed: streaming,
            droppedOptions: dropped)
    }

    /// The JSON body for a query and the options that could not be sent as asked; throws before any
    /// call when the options cannot work.
    static func requestBody(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, streaming: Bool
    ) throws -> (body: JSONValue, dropped: [String]) {
        try funcSpec?.validate()
        // The API needs a user turn: a system-only query is sent as the user message.
        var system = system
        var turns: [AnthropicTurn] = []
        if let user { turns.append(AnthropicTurn(role: "user", text: user)) }
        if turns.isEmpty, let only = system {
            turns.append(AnthropicTurn(role: "user", text: only))
            system = nil
        }
        guard !turns.isEmpty else { throw LLMError.invalidOptions(.noMessage) }

        let tableLimit = ModelTable.spec(for: options.model)?.maxOutput ?? defaultMaxTokens
        let maxTokens = options.maxTokens ?? min(defaultMaxTokens, tableLimit)
        var dropped: [String] = []
        var body: [String: JSONValue] = [
            "model": .string(options.model),
            "max_tokens": .int(maxTokens),
            "messages": .array(AnthropicTurn.normalized(turns).map(\.json)),
        ]
        var cachedFunctions: [FunctionSpec] = []
        if let system {
            // The system message is the run's stable prefix: with caching on, one text block
            // whose breakpoint caches everything up to its end (tools included).
            if let breakpoint = options.promptCache?.anthropicBreakpoint(system: system, model: options.model) {
                body["system"] = [["type": "text", "text": .string(system), "cache_control": breakpoint]]
                cachedFunctions = options.cachedFunctions ?? []
            } else {
                body["system"] = .string(system)
            }
        }
        if let temperature = options.temperature { body["temperature"] = .double(temperature) }
        if let topP = options.topP { body["top_p"] = .double(topP) }
        if let stop = options.stop, !stop.isEmpty { body["stop_sequences"] = .array(stop.map { .string($0) }) }
        if let budget = options.thinkingBudget {
            guard budget >= minimumThinkingBudget else {
                throw LLMError.invalidOptions(.thinkingBudgetTooSmall(budget: budget, minimum: minimumThinkingBudget))
            }
            guard budget < maxTokens else {
                throw LLMError.invalidOptions(.thinkingBudgetNotBelowMaxTokens(budget: budget, maxTokens: maxTokens))
            }
            body["thinking"] = ["type": "enabled", "budget_tokens": .int(budget)]
            // Extended thinking only runs at temperature 1: any other temperature asked for is not sent.
            body["temperature"] = .int(1)
            if let temperature = options.temperature, temperature != 1 { dropped.append("temperature") }
        }
        if options.reasoningEffort != nil {
            throw LLMError.invalidOptions(.reasoningEffortOnClaude)
        }
        // The run's cached functions come first, in one order on every call, so that the tools part
        // of the cached prefix is the same bytes whichever function a call asks for (if any).
        var functions = cachedFunctions
        if let funcSpec, !functions.contains(funcSpec) { functions.append(funcSpec) }
        var tools = options.serverTools
        for function in functions {
            tools.append([
                "name": .string(function.name), "description": .string(function.description),
                "input_schema": function.parameters,
            ])
        }
        if let funcSpec {
            // With thinking on, the API refuses a forced tool choice: it is left to the model ("auto"),
            // and a missing call is reported as such.
            body["tool_choice"] =
                options.thinkingBudget == nil ? ["type": "tool", "name": .string(funcSpec.name)] : ["type": "auto"]
        } else if !cachedFunctions.isEmpty {
            // Carried for the cache only: the model must answer in text.
            body["tool_choice"] = ["type": "none"]
        }
        if !tools.isEmpty { body["tools"] = .array(tools) }
        if streaming { body["stream"] = true }
        for (key, value) in options.extra { body[key] = value }
        return (.object(body), dropped)
    }
}

/// One turn of a conversation as the Messages API takes it.
struct AnthropicTurn: Sendable, Hashable {
    var role: String
    var text: String

    var json: JSONValue { ["role": .string(role), "content": .string(text)] }

    /// The API wants alternating turns that open with the user: consecutive turns of one role are
    /// merged, and an opening assistant turn gets an empty-handed user turn before it.
    static func normalized(_ turns: [AnthropicTurn]) -> [AnthropicTurn] {
        var merged: [AnthropicTurn] = []
        for turn in turns {
            if let last = merged.last, last.role == turn.role {
                merged[merged.count - 1].text += "\n\n" + turn.text
            } else {
                merged.append(turn)
            }
        }
        if let first = merged.first, first.role != "user" {
            merged.insert(AnthropicTurn(role: "user", text: "(continue)"), at: 0)
        }
        return merged
    }
}
