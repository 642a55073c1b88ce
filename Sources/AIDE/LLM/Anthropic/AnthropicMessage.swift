import Foundation

/// An Anthropic message as the harness reads it, built from a whole response or folded from a stream.
struct AnthropicMessage: ProviderAnswer {
    struct Block: Sendable {
        var type: String
        var text = ""
        var thinking = ""
        var name: String?
        var input: JSONValue?
        /// Tool input as streamed (input_json_delta fragments), parsed when interpreted.
        var partialInput: String?
        /// The block as the provider sent it, for server-tool blocks kept in info.
        var raw: JSONValue

        init(json: JSONValue) {
            raw = json
            type = json["type"]?.stringValue ?? "unknown"
            text = json["text"]?.stringValue ?? ""
            thinking = json["thinking"]?.stringValue ?? ""
            name = json["name"]?.stringValue
            input = json["input"]
        }
    }

    var id: String?
    var model: String?
    var stopReason: String?
    var blocks: [Block] = []
    var usage: [String: JSONValue] = [:]

    init() {}

    /// Reads a whole (non-streamed) response body.
    init(body: Data, provider: CallProvider) throws {
        let json = try ProviderExchange.parseBody(body, provider: provider)
        guard let content = json["content"]?.arrayValue else {
            throw LLMError.malformedResponse(
                provider: provider, reason: "no \"content\" array", excerpt: LLMError.excerpt(body))
        }
        guard let usage = json["usage"]?.objectValue, usage["output_tokens"]?.intValue != nil else {
            throw LLMError.malformedResponse(
                provider: provider, reason: "no \"usage\" with token counts", excerpt: LLMError.excerpt(body))
        }
        id = json["id"]?.stringValue
        model = json["model"]?.stringValue
        stopReason = json["stop_reason"]?.stringValue
        blocks = content.map(Block.init(json:))
        self.usage = usage
    }

    /// Block types that are the model's own answer; everything else (server tools and their
    /// results) is kept verbatim in `QueryInfo.serverToolBlocks`.
    private static let answerTypes: Set<String> = ["text", "thinking", "redacted_thinking", "tool_use"]

    func output(funcSpec: FunctionSpec?) throws -> QueryOutput {
        let text = blocks.filter { $0.type == "text" }.map(\.text).joined()
        guard let funcSpec else { return .text(text) }
        let calls = blocks.filter { $0.type == "tool_use" }
        guard let call = calls.first(where: { $0.name == funcSpec.name }) else {
            if let other = calls.first {
                throw LLMError.wrongFunctionCalled(expected: funcSpec.name, called: other.name ?? "(unnamed)")
            }
            throw LLMError.missingFunctionCall(expected: funcSpec.name, found: Self.describe(text))
        }
        return .functionCall(name: funcSpec.name, arguments: try Self.arguments(of: call, function: funcSpec.name))
    }

    /// Cache reads and writes are billed as input: `input` counts them with the uncached tokens.
    func tokens(provider: CallProvider) throws -> TokenUsage {
        let read = usage["cache_read_input_tokens"]?.intValue
        let write = usage["cache_creation_input_tokens"]?.intValue
        var tokens = TokenUsage(
            input: (usage["input_tokens"]?.intValue ?? 0) + (read ?? 0) + (write ?? 0),
            output: usage["output_tokens"]?.intValue ?? 0, cacheRead: read, cacheWrite: write)
        tokens.cacheWriteLong = usage["cache_creation"]?["ephemeral_1h_input_tokens"]?.intValue
        return tokens
    }

    func info(provider: CallProvider) -> QueryInfo {
        let thinking = blocks.filter { $0.type == "thinking" }.map(\.thinking).joined(separator: "\n\n")
        return QueryInfo(
            provider: provider, model: model, responseID: id, stopReason: stopReason,
            finishReason: stopReason.flatMap(Self.finishReason), thinking: thinking.isEmpty ? nil : thinking,
            serverToolBlocks: blocks.filter { !Self.answerTypes.contains($0.type) }.map(\.raw))
    }

    static func finishReason(_ stopReason: String) -> FinishReason? {
        switch stopReason {
        case "end_turn", "stop_sequence", "pause_turn": return .stop
        case "max_tokens", "model_context_window_exceeded": return .length
        case "tool_use": return .functionCall
        case "refusal": return .contentFilter
        default: return nil
        }
    }

    private static func arguments(of block: Block, function: String) throws -> JSONValue {
        if let partial = block.partialInput {
            if partial.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
            do {
                return try JSONValue.parse(partial)
            } catch {
                throw LLMError.invalidFunctionArguments(function: function, reason: "\(error)", raw: partial)
            }
        }
        guard let input = block.input, input.objectValue != nil else {
            throw LLMError.invalidFunctionArguments(
                function: function, reason: "tool_use input is not an object", raw: block.input?.jsonText ?? "null")
        }
        return input
    }
}

/// Folds Anthropic's event stream: message_start, content_block_start / delta / stop, message_delta,
/// message_stop, ping and error.
struct AnthropicStreamFolder: StreamFolder {
    let provider: CallProvider
    private var folded = AnthropicMessage()
    private var started = false
    private(set) var isComplete = false
    private(set) var hasOutput = false
    private var textCharacters = 0
    private var inputCharacters = 0
    private var thinkingCharacters = 0

    init(provider: CallProvider) {
        self.provider = provider
    }

    var receivedSummary: String {
        "\(folded.blocks.count) content blocks (\(textCharacters) characters of text, \(thinkingCharacters) of thinking, "
            + "\(inputCharacters) of tool input)"
    }

    mutating func consume(_ event: SSEEvent) throws -> [StreamDelta] {
        let json = try ProviderExchange.parseEvent(event, provider: provider)
        let type = json["type"]?.stringValue ?? event.event ?? ""
        switch type {
        case "message_start":
            let start = json["message"] ?? [:]
            started = true
            folded.id = start["id"]?.stringValue
            folded.model = start["model"]?.stringValue
            folded.usage.merge(start["usage"]?.objectValue ?? [:]) { _, new in new }
        case "content_block_start":
            let index = try blockIndex(json)
            let block = AnthropicMessage.Block(json: json["content_block"] ?? [:])
            while folded.blocks.count <= index { folded.blocks.append(AnthropicMessage.Block(json: [:])) }
            folded.blocks[index] = block
            if block.type != "text" { hasOutput = true }
        case "content_block_delta":
            let index = try blockIndex(json)
            guard folded.blocks.indices.contains(index) else {
                throw malformed("content_block_delta for block \(index) before its content_block_start", event)
            }
            return applyDelta(json["delta"] ?? [:], to: index)
        case "content_block_stop":
            let index = try blockIndex(json)
            if folded.blocks.indices.contains(index), let partial = folded.blocks[index].partialInput,
                let parsed = try? JSONValue.parse(partial.isEmpty ? "{}" : partial)
            {
                folded.blocks[index].raw = updating(folded.blocks[index].raw, key: "input", with: parsed)
            }
        case "message_delta":
            let delta = json["delta"] ?? [:]
            if let reason = delta["stop_reason"]?.stringValue { folded.stopReason = reason }
            folded.usage.merge(json["usage"]?.objectValue ?? [:]) { _, new in new }
        case "message_stop":
            guard started else { throw malformed("message_stop without message_start", event) }
            isComplete = true
        case "error":
            let error = json["error"] ?? [:]
            throw LLMError.streamError(
                provider: provider, type: error["type"]?.stringValue ?? "error",
                message: error["message"]?.stringValue ?? event.data, afterOutput: hasOutput)
        default:
            break  // ping, and event types added after this was written
        }
        return []
    }

    func message() throws -> AnthropicMessage { folded }

    static func deltas(of message: AnthropicMessage) -> [StreamDelta] {
        message.blocks.compactMap { block in
            switch block.type {
            case "thinking" where !block.thinking.isEmpty: return .thinking(block.thinking)
            case "text" where !block.text.isEmpty: return .text(block.text)
            case "tool_use": return block.input.map { .functionArguments($0.jsonText) }
            default: return nil
            }
        }
    }

    private mutating func applyDelta(_ delta: JSONValue, to index: Int) -> [StreamDelta] {
        hasOutput = true
        switch delta["type"]?.stringValue {
        case "text_delta":
            let text = delta["text"]?.stringValue ?? ""
            folded.blocks[index].text += text
            textCharacters += text.count
            return [.text(text)]
        case "input_json_delta":
            let fragment = delta["partial_json"]?.stringValue ?? ""
            folded.blocks[index].partialInput = (folded.blocks[index].partialInput ?? "") + fragment
            inputCharacters += fragment.count
            return [.functionArguments(fragment)]
        case "thinking_delta":
            let thinking = delta["thinking"]?.stringValue ?? ""
            folded.blocks[index].thinking += thinking
            thinkingCharacters += thinking.count
            return [.thinking(thinking)]
        case "signature_delta":
            let signature = delta["signature"]?.stringValue ?? ""
            folded.blocks[index].raw = updating(folded.blocks[index].raw, key: "signature", with: .string(signature))
            return []
        default:
            return []  // citations and future delta types: nothing to fold into the answer
        }
    }

    private func blockIndex(_ json: JSONValue) throws -> Int {
        guard let index = json["index"]?.intValue, index >= 0, index < 10_000 else {
            throw LLMError.malformedResponse(
                provider: provider, reason: "content block event without a valid index", excerpt: json.jsonText)
        }
        return index
    }

    private func malformed(_ reason: String, _ event: SSEEvent) -> LLMError {
        .malformedResponse(provider: provider, reason: reason, excerpt: String(event.data.prefix(300)))
    }

    private func updating(_ object: JSONValue, key: String, with value: JSONValue) -> JSONValue {
        var fields = object.objectValue ?? [:]
        fields[key] = value
        return .object(fields)
    }
}
