import Foundation

/// OpenAI's chat completions (`POST {base}/chat/completions`): OpenAI itself, OpenRouter, and every
/// compatible server (llama.cpp, vLLM, …).
public struct OpenAIBackend: Backend {
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
            system: system, user: user, funcSpec: funcSpec, options: options, provider: endpoint.provider,
            streaming: streaming)
        var headers: [(name: String, value: String)] = [("accept", streaming ? "text/event-stream" : "application/json")]
        if let key = endpoint.apiKey { headers.append(("authorization", "Bearer \(key)")) }
        if endpoint.provider == .openrouter { headers.append(("x-title", "aide")) }
        let request = HTTPRequest.postJSON(
            url: endpoint.baseURL + "/chat/completions", body: body.serialized(), headers: headers)

        let provider = exchange.provider
        let outcome = try await exchange.perform(
            request, streaming: streaming, folder: { OpenAIStreamFolder(provider: provider) },
            decode: { try OpenAIMessage(body: $0, provider: provider) }, observer: observer)
        return try outcome.result(
            funcSpec: funcSpec, provider: provider, askedModel: options.model, streamed: streaming,
            droppedOptions: dropped)
    }

    /// The JSON body for a query and the options dropped because the model cannot take them.
    static func requestBody(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, provider: Provider,
        streaming: Bool
    ) throws -> (body: JSONValue, dropped: [String]) {
        try funcSpec?.validate()
        var messages: [JSONValue] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        if let user { messages.append(["role": "user", "content": .string(user)]) }
        guard !messages.isEmpty else { throw LLMError.invalidOptions(.noMessage) }

        let reasoning = ModelTable.isReasoningModel(options.model)
        var dropped: [String] = []
        var body: [String: JSONValue] = ["model": .string(options.model), "messages": .array(messages)]
        if let temperature = options.temperature {
            if reasoning { dropped.append("temperature") } else { body["temperature"] = .double(temperature) }
        }
        if let topP = options.topP {
            if reasoning { dropped.append("top_p") } else { body["top_p"] = .double(topP) }
        }
        if let maxTokens = options.maxTokens {
            body[reasoning ? "max_completion_tokens" : "max_tokens"] = .int(maxTokens)
        }
        if let stop = options.stop, !stop.isEmpty {
            // Reasoning models refuse stop sequences.
            if reasoning { dropped.append("stop") } else { body["stop"] = .array(stop.map { .string($0) }) }
        }
        if let budget = options.thinkingBudget {
            guard provider == .openrouter else {
                throw LLMError.invalidOptions(.thinkingBudgetOnOpenAI)
            }
            body["reasoning"] = ["max_tokens": .int(budget)]
        }
        if let effort = options.reasoningEffort {
            guard reasoning || provider != .openai else {
                throw LLMError.invalidOptions(.reasoningEffortNeedsReasoningModel(options.model))
            }
            body["reasoning_effort"] = .string(effort)
        }
        if !options.betas.isEmpty || !options.serverTools.isEmpty {
            throw LLMError.invalidOptions(.anthropicOnly(provider))
        }
        if let funcSpec {
            body["tools"] = [
                [
                    "type": "function",
                    "function": [
                        "name": .string(funcSpec.name), "description": .string(funcSpec.description),
                        "parameters": funcSpec.parameters,
                    ],
                ]
            ]
            body["tool_choice"] = ["type": "function", "function": ["name": .string(funcSpec.name)]]
        }
        if streaming {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        // OpenAI caches a repeated prefix on its own; the key keeps a run's calls on one cache.
        // Other servers speaking its format may refuse a field they do not know.
        if provider == .openai, let key = options.promptCacheKey, (options.promptCache ?? .off) != .off {
            body["prompt_cache_key"] = .string(key)
        }
        for (key, value) in options.extra { body[key] = value }
        return (.object(body), dropped)
    }
}
