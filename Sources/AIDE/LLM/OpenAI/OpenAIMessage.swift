import Foundation

/// A chat completion as the harness reads it, built from a whole response or folded from a stream.
struct OpenAIMessage: ProviderAnswer {
    struct ToolCall: Sendable {
        var id: String?
        var name = ""
        var arguments = ""
    }

    var id: String?
    var model: String?
    var created: Int?
    var systemFingerprint: String?
    var content: String?
    /// The model's refusal, sent instead of content.
    var refusal: String?
    var reasoning: String?
    var toolCalls: [ToolCall] = []
    var finishReason: String?
    var usage: JSONValue?

    init() {}

    /// Reads a whole (non-streamed) response body.
    init(body: Data, provider: CallProvider) throws {
        let json = try ProviderExchange.parseBody(body, provider: provider)
        guard let choice = json["choices"]?[0], let message = choice["message"] else {
            throw LLMError.malformedResponse(
                provider: provider, reason: "no choices[0].message", excerpt: LLMError.excerpt(body))
        }
        guard let usage = json["usage"], usage["prompt_tokens"]?.intValue != nil else {
            throw LLMError.malformedResponse(
                provider: provider, reason: "no \"usage\" with token counts", excerpt: LLMError.excerpt(body))
        }
        readMetadata(json)
        content = message["content"]?.stringValue
        refusal = message["refusal"]?.stringValue
        reasoning = message["reasoning_content"]?.stringValue ?? message["reasoning"]?.stringValue
        toolCalls = (message["tool_calls"]?.arrayValue ?? []).map { call in
            ToolCall(
                id: call["id"]?.stringValue, name: call["function"]?["name"]?.stringValue ?? "",
                arguments: call["function"]?["arguments"]?.stringValue ?? call["function"]?["arguments"]?.jsonText ?? "")
        }
        finishReason = choice["finish_reason"]?.stringValue
        self.usage = usage
    }

    mutating func readMetadata(_ json: JSONValue) {
        if let value = json["id"]?.stringValue { id = value }
        if let value = json["model"]?.stringValue { model = value }
        if let value = json["created"]?.intValue { created = value }
        if let value = json["system_fingerprint"]?.stringValue { systemFingerprint = value }
    }

    func output(funcSpec: FunctionSpec?) throws -> QueryOutput {
        // A refusal comes instead of content; it is the answer the user needs to see.
        guard let funcSpec else { return .text(content ?? refusal ?? "") }
        guard let call = toolCalls.first else {
            let found = refusal.map { "a refusal: " + Self.describe($0) }
                ?? Self.describe(content ?? "")
            throw LLMError.missingFunctionCall(expected: funcSpec.name, found: found)
        }
        guard call.name == funcSpec.name else {
            throw LLMError.wrongFunctionCalled(expected: funcSpec.name, called: call.name)
        }
        let arguments: JSONValue
        do {
            arguments = try JSONValue.parse(call.arguments)
        } catch {
            throw LLMError.invalidFunctionArguments(function: call.name, reason: "\(error)", raw: call.arguments)
        }
        guard arguments.objectValue != nil else {
            throw LLMError.invalidFunctionArguments(
                function: call.name, reason: "arguments are not a JSON object", raw: call.arguments)
        }
        return .functionCall(name: call.name, arguments: arguments)
    }

    /// A stream carries usage only in its closing chunk, and only when asked for.
    func tokens(provider: CallProvider) throws -> TokenUsage {
        guard let usage, let input = usage["prompt_tokens"]?.intValue else {
            throw LLMError.malformedResponse(
                provider: provider,
                reason: "no token usage (a streaming server must honour stream_options.include_usage)",
                excerpt: usage?.jsonText ?? "")
        }
        return TokenUsage(
            input: input, output: usage["completion_tokens"]?.intValue ?? 0,
            cacheRead: usage["prompt_tokens_details"]?["cached_tokens"]?.intValue,
            reasoning: usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue)
    }

    func info(provider: CallProvider) -> QueryInfo {
        QueryInfo(
            provider: provider, model: model, responseID: id, stopReason: finishReason,
            finishReason: refusal != nil && content == nil ? .contentFilter : finishReason.flatMap(Self.finishReason),
            systemFingerprint: systemFingerprint,
            created: created, thinking: reasoning.flatMap { $0.isEmpty ? nil : $0 })
    }

    static func finishReason(_ reason: String) -> FinishReason? {
        switch reason {
        case "stop": return .stop
        case "length": return .length
        case "tool_calls", "function_call": return .functionCall
        case "content_filter": return .contentFilter
        default: return nil
        }
    }
}

/// Folds `data:` chunks up to `data: [DONE]`: content and reasoning deltas appended, tool-call
/// fragments joined by index, usage from the closing chunk (`stream_options.include_usage`).
struct OpenAIStreamFolder: StreamFolder {
    let provider: CallProvider
    private var folded = OpenAIMessage()
    private var toolIndex: [Int: Int] = [:]
    private(set) var isComplete = false
    private(set) var hasOutput = false
    private var textCharacters = 0
    private var argumentCharacters = 0

    init(provider: CallProvider) {
        self.provider = provider
    }

    var receivedSummary: String {
        "\(textCharacters) characters of text and \(argumentCharacters) of function arguments"
    }

    mutating func consume(_ event: SSEEvent) throws -> [StreamDelta] {
        if event.data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            isComplete = true
            return []
        }
        let json = try ProviderExchange.parseEvent(event, provider: provider)
        if let error = json["error"], !error.isNull {
            throw LLMError.streamError(
                provider: provider, type: error["type"]?.stringValue ?? error["code"]?.stringValue ?? "error",
                message: error["message"]?.stringValue ?? error.jsonText, afterOutput: hasOutput)
        }
        folded.readMetadata(json)
        if let usage = json["usage"], !usage.isNull { folded.usage = usage }
        guard let choice = json["choices"]?[0] else { return [] }
        if let reason = choice["finish_reason"]?.stringValue { folded.finishReason = reason }
        let delta = choice["delta"] ?? [:]
        var deltas: [StreamDelta] = []
        if let text = delta["content"]?.stringValue, !text.isEmpty {
            folded.content = (folded.content ?? "") + text
            textCharacters += text.count
            hasOutput = true
            deltas.append(.text(text))
        }
        if let refused = delta["refusal"]?.stringValue, !refused.isEmpty {
            folded.refusal = (folded.refusal ?? "") + refused
            hasOutput = true
        }
        if let thinking = delta["reasoning_content"]?.stringValue ?? delta["reasoning"]?.stringValue, !thinking.isEmpty {
            folded.reasoning = (folded.reasoning ?? "") + thinking
            hasOutput = true
            deltas.append(.thinking(thinking))
        }
        for (position, call) in (delta["tool_calls"]?.arrayValue ?? []).enumerated() {
            let index = call["index"]?.intValue ?? position
            let slot: Int
            if let existing = toolIndex[index] {
                slot = existing
            } else {
                slot = folded.toolCalls.count
                toolIndex[index] = slot
                folded.toolCalls.append(OpenAIMessage.ToolCall())
            }
            if let id = call["id"]?.stringValue { folded.toolCalls[slot].id = id }
            if let name = call["function"]?["name"]?.stringValue { folded.toolCalls[slot].name += name }
            if let fragment = call["function"]?["arguments"]?.stringValue, !fragment.isEmpty {
                folded.toolCalls[slot].arguments += fragment
                argumentCharacters += fragment.count
                deltas.append(.functionArguments(fragment))
            }
            hasOutput = true
        }
        return deltas
    }

    func message() throws -> OpenAIMessage { folded }

    static func deltas(of message: OpenAIMessage) -> [StreamDelta] {
        var deltas: [StreamDelta] = []
        if let reasoning = message.reasoning, !reasoning.isEmpty { deltas.append(.thinking(reasoning)) }
        if let content = message.content, !content.isEmpty { deltas.append(.text(content)) }
        for call in message.toolCalls where !call.arguments.isEmpty { deltas.append(.functionArguments(call.arguments)) }
        return deltas
    }
}
