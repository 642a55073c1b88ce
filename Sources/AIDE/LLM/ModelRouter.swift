import Foundation

/// The providers a model name can be routed to.
public enum Provider: String, Sendable, Hashable, Codable, CaseIterable {
    case anthropic
    case openai
    case openrouter
    /// Google's Gemini models through its OpenAI-compatible endpoint.
    case gemini
    /// Any server speaking OpenAI's chat completions (llama.cpp, vLLM, Ollama, …) at a configured base URL.
    case compatible
}

/// Where and how to reach a provider: base URL and key (held in memory only, never persisted).
public struct ProviderEndpoint: Sendable {
    public var provider: Provider
    public var baseURL: String
    public var apiKey: String?

    public init(provider: Provider, baseURL: String, apiKey: String?) {
        self.provider = provider
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
    }
}

/// Settings shared by every backend: HTTP timeouts, retries, and the clock retries wait on.
public struct BackendSettings: Sendable {
    public var timeouts: HTTPTimeouts
    public var retry: RetryPolicy
    public var clock: RetryClock

    public init(timeouts: HTTPTimeouts = HTTPTimeouts(), retry: RetryPolicy = RetryPolicy(), clock: RetryClock = .system) {
        self.timeouts = timeouts
        self.retry = retry
        self.clock = clock
    }
}

/// Picks the provider for a model name, like AIDE: `claude-*` → Anthropic, `gpt-*` and `o<digit>*` →
/// OpenAI, `gemini-*` → Google's OpenAI-compatible endpoint, anything else → the OpenAI-compatible server if one is configured, else OpenRouter.
/// `anthropic/…`, `openai/…`, `openrouter/…`, `gemini/…` and `compatible/…` name the provider explicitly.
public struct ModelRouter: Backend {
    /// Environment variables read for keys and base URLs.
    public enum Variable {
        public static let anthropicKey = "ANTHROPIC_API_KEY"
        public static let openAIKey = "OPENAI_API_KEY"
        public static let openRouterKey = "OPENROUTER_API_KEY"
        public static let compatibleKey = "AIDE_COMPATIBLE_API_KEY"
        public static let geminiKey = "GEMINI_API_KEY"
        public static let geminiBaseURL = "GEMINI_BASE_URL"
        public static let anthropicBaseURL = "ANTHROPIC_BASE_URL"
        public static let openAIBaseURL = "OPENAI_BASE_URL"
        public static let openRouterBaseURL = "OPENROUTER_BASE_URL"
        public static let compatibleBaseURL = "AIDE_COMPATIBLE_BASE_URL"
        /// Every variable that may hold a secret; scrubbed from child processes.
        public static let secrets = [anthropicKey, openAIKey, openRouterKey, compatibleKey, geminiKey]
    }

    private let environment: [String: String]
    private let compatibleBaseURL: String?
    private let http: HTTPClient
    private let settings: BackendSettings

    /// - Parameters:
    ///   - compatibleBaseURL: an OpenAI-compatible server (e.g. `http://127.0.0.1:8080/v1`); overrides
    ///     `AIDE_COMPATIBLE_BASE_URL`.
    public init(
        http: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        compatibleBaseURL: String? = nil, settings: BackendSettings = BackendSettings()
    ) {
        self.http = http
        self.environment = environment
        self.compatibleBaseURL = compatibleBaseURL ?? environment[Variable.compatibleBaseURL].flatMap { $0.isEmpty ? nil : $0 }
        self.settings = settings
    }

    /// The provider and the model name to send it, without resolving keys.
    public func route(_ model: String) throws -> (provider: Provider, model: String) {
        try Self.route(model, compatibleBaseURL: compatibleBaseURL)
    }

    /// The routing rule itself: explicit `provider/`, then name prefixes, then the fallback.
    public static func route(_ model: String, compatibleBaseURL: String?) throws -> (provider: Provider, model: String) {
        if let slash = model.firstIndex(of: "/"), let provider = Provider(rawValue: String(model[..<slash])) {
            let name = String(model[model.index(after: slash)...])
            guard !name.isEmpty else { throw LLMError.invalidOptions(.noModelName(model)) }
            return (provider, name)
        }
        if model.hasPrefix("claude-") { return (.anthropic, model) }
        if model.hasPrefix("gpt-") { return (.openai, model) }
        if model.hasPrefix("gemini-") { return (.gemini, model) }
        if model.count > 1, model.first == "o", model.dropFirst().first?.isNumber == true { return (.openai, model) }
        return (compatibleBaseURL != nil ? .compatible : .openrouter, model)
    }

    /// The endpoint for a provider: base URL (overridable) and key from the environment.
    public func endpoint(for provider: Provider) throws -> ProviderEndpoint {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func key(_ name: String) throws -> String {
            guard let key = value(name) else { throw LLMError.missingAPIKey(provider: provider, variable: name) }
            return key
        }
        switch provider {
        case .anthropic:
            return ProviderEndpoint(
                provider: provider, baseURL: value(Variable.anthropicBaseURL) ?? "https://api.anthropic.com",
                apiKey: try key(Variable.anthropicKey))
        case .openai:
            return ProviderEndpoint(
                provider: provider, baseURL: value(Variable.openAIBaseURL) ?? "https://api.openai.com/v1",
                apiKey: try key(Variable.openAIKey))
        case .openrouter:
            return ProviderEndpoint(
                provider: provider, baseURL: value(Variable.openRouterBaseURL) ?? "https://openrouter.ai/api/v1",
                apiKey: try key(Variable.openRouterKey))
        case .gemini:
            return ProviderEndpoint(
                provider: provider,
                baseURL: value(Variable.geminiBaseURL) ?? "https://generativelanguage.googleapis.com/v1beta/openai",
                apiKey: try key(Variable.geminiKey))
        case .compatible:
            guard let base = compatibleBaseURL else {
                throw LLMError.missingBaseURL(variable: Variable.compatibleBaseURL)
            }
            return ProviderEndpoint(provider: provider, baseURL: base, apiKey: value(Variable.compatibleKey))
        }
    }

    /// The backend that serves a model name, and the name to send it.
    public func backend(for model: String) throws -> (backend: any Backend, model: String) {
        let (provider, name) = try route(model)
        let endpoint = try endpoint(for: provider)
        switch provider {
        case .anthropic:
            return (AnthropicBackend(endpoint: endpoint, http: http, settings: settings), name)
        case .openai, .openrouter, .gemini, .compatible:
            return (OpenAIBackend(endpoint: endpoint, http: http, settings: settings), name)
        }
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let (backend, name) = try backend(for: options.model)
        var routed = options
        routed.model = name
        return try await backend.query(system: system, user: user, funcSpec: funcSpec, options: routed, observer: observer)
    }
}
