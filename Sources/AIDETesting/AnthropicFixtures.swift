import Foundation

/// Wire fixtures for Anthropic's Messages API (`POST /v1/messages`), shaped as the API reference and the
/// streaming guide document them: whole messages, server-sent event sequences, error bodies and error
/// events. Builders return the text a server would send; the `…Response` helpers wrap it for a
/// `LoopbackServer`. A message and its stream are rendered from the same `Block`s, so a streamed fixture
/// folds into exactly the message its whole counterpart describes.
public enum AnthropicFixtures {
    /// The `id` used when a fixture is not given one.
    public static let defaultID = "msg_01XFDUDYJgAACzvnptvVoYEL"
    /// The `model` used when a fixture is not given one.
    public static let defaultModel = "claude-sonnet-4-5-20250929"
    /// The `request-id` header (and error `request_id`) used when a fixture is not given one.
    public static let defaultRequestID = "req_011CSHoEeqs5C35K2UUqR7Fy"
    /// The id of the tool_use block of `toolUseMessage` / `toolUseStream`.
    public static let defaultToolUseID = "toolu_01A09q90qw90lq917835lq9"
    /// The id of the server_tool_use block of `serverToolMessage` / `serverToolStream`.
    public static let defaultServerToolUseID = "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE"
    /// The signature of the thinking block of `thinkingMessage` / `thinkingStream`.
    public static let defaultSignature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    /// How many characters each streamed delta carries when a stream builder is not told.
    public static let defaultChunkSize = 8

    /// Token counts as Anthropic reports them in `usage`; `input_tokens` excludes cached tokens.
    public struct Usage: Sendable, Hashable {
        /// `input_tokens`: prompt tokens neither read from nor written to the cache.
        public var input: Int
        /// `output_tokens`.
        public var output: Int
        /// `cache_creation_input_tokens`.
        public var cacheCreation: Int
        /// `cache_read_input_tokens`.
        public var cacheRead: Int
        /// `server_tool_use.web_search_requests`; nil leaves `server_tool_use` out.
        public var webSearchRequests: Int?
        /// Of `cacheCreation`, the tokens written with the one-hour lifetime; nil leaves
        /// `cache_creation` (the split by lifetime) out.
        public var cacheCreation1h: Int? = nil

        /// Counts for a `usage` object.
        public init(input: Int = 25, output: Int = 12, cacheCreation: Int = 0, cacheRead: Int = 0, webSearchRequests: Int? = nil) {
            self.input = input
            self.output = output
            self.cacheCreation = cacheCreation
            self.cacheRead = cacheRead
            self.webSearchRequests = webSearchRequests
        }

        /// The `usage` object of a whole message, as JSON text.
        public var json: String {
            var text =
                #"{"input_tokens":\#(input),"output_tokens":\#(output),"#
                + #""cache_creation_input_tokens":\#(cacheCreation),"cache_read_input_tokens":\#(cacheRead)"#
            if let webSearchRequests { text += #","server_tool_use":{"web_search_requests":\#(webSearchRequests)}"# }
            if let long = cacheCreation1h {
                text += #","cache_creation":{"ephemeral_5m_input_tokens":\#(cacheCreation - long),"#
                    + #""ephemeral_1h_input_tokens":\#(long)}"#
            }
            return text + "}"
        }
    }

    /// Metadata shared by a message and every event of its stream.
    public struct Meta: Sendable, Hashable {
        /// `id`, `msg_…`.
        public var id: String
        /// `model` as the API answers it.
        public var model: String

        /// Metadata with the documented-looking defaults.
        public init(id: String = AnthropicFixtures.defaultID, model: String = AnthropicFixtures.defaultModel) {
            self.id = id
            self.model = model
        }
    }

    /// One content block of an assistant message.
    public enum Block: Sendable, Hashable {
        /// `{"type":"text","text":…}`; `citations` are citation objects as JSON text, sent only when given.
        case text(String, citations: [String] = [])
        /// `{"type":"thinking","thinking":…,"signature":…}` (extended thinking).
        case thinking(String, signature: String)
        /// `{"type":"redacted_thinking","data":…}`.
        case redactedThinking(data: String)
        /// `{"type":"tool_use","id","name","input"}`; `input` is JSON text.
        case toolUse(id: String, name: String, input: String)
        /// `{"type":"server_tool_use","id","name","input"}`; `input` is JSON text.
        case serverToolUse(id: String, name: String, input: String)
        /// `{"type":"web_search_tool_result","tool_use_id","content"}`; `content` is JSON text (an array of
        /// `web_search_result`s, or a `web_search_tool_result_error` object).
        case webSearchToolResult(toolUseID: String, content: String)

        /// The block as a whole message carries it, as JSON text.
        public var json: String {
            switch self {
            case .text(let text, let citations):
                let cited = citations.isEmpty ? "" : #","citations":[\#(citations.joined(separator: ","))]"#
                return #"{"type":"text","text":\#(quote(text))\#(cited)}"#
            case .thinking(let thinking, let signature):
                return #"{"type":"thinking","thinking":\#(quote(thinking)),"signature":\#(quote(signature))}"#
            case .redactedThinking(let data):
                return #"{"type":"redacted_thinking","data":\#(quote(data))}"#
            case .toolUse(let id, let name, let input):
                return #"{"type":"tool_use","id":\#(quote(id)),"name":\#(quote(name)),"input":\#(input)}"#
            case .serverToolUse(let id, let name, let input):
                return #"{"type":"server_tool_use","id":\#(quote(id)),"name":\#(quote(name)),"input":\#(input)}"#
            case .webSearchToolResult(let toolUseID, let content):
                return #"{"type":"web_search_tool_result","tool_use_id":\#(quote(toolUseID)),"content":\#(content)}"#
            }
        }
    }

    // MARK: Whole messages

    /// A whole `message` object with the given content blocks.
    public static func message(
        _ blocks: [Block], meta: Meta = Meta(), stopReason: String? = "end_turn", stopSequence: String? = nil,
        usage: Usage = Usage()
    ) -> String {
        #"{"id":\#(quote(meta.id)),"type":"message","role":"assistant","model":\#(quote(meta.model)),"#
            + #""content":[\#(blocks.map(\.json).joined(separator: ","))],"#
            + #""stop_reason":\#(stopReason.map(quote) ?? "null"),"stop_sequence":\#(stopSequence.map(quote) ?? "null"),"#
            + #""usage":\#(usage.json)}"#
    }

    /// A message answering one text block.
    public static func textMessage(
        text: String = "Hello! How can I help you today?", model: String = defaultModel, inputTokens: Int = 25,
        outputTokens: Int = 12, stopReason: String = "end_turn", id: String = defaultID, cacheCreationTokens: Int = 0,
        cacheReadTokens: Int = 0
    ) -> String {
        message(
            [.text(text)], meta: Meta(id: id, model: model), stopReason: stopReason,
            usage: Usage(input: inputTokens, output: outputTokens, cacheCreation: cacheCreationTokens, cacheRead: cacheReadTokens))
    }

    /// A message calling a tool (stop_reason "tool_use"), after an optional text preamble. `input` is JSON text.
    public static func toolUseMessage(
        name: String, input: String, preamble: String? = nil, toolUseID: String = defaultToolUseID,
        model: String = defaultModel, inputTokens: Int = 472, outputTokens: Int = 89, id: String = defaultID,
        cacheCreationTokens: Int = 0, cacheReadTokens: Int = 0
    ) -> String {
        message(
            toolUseBlocks(name: name, input: input, preamble: preamble, toolUseID: toolUseID),
            meta: Meta(id: id, model: model), stopReason: "tool_use",
            usage: Usage(input: inputTokens, output: outputTokens, cacheCreation: cacheCreationTokens, cacheRead: cacheReadTokens))
    }

    /// A message with extended thinking: a thinking block (with its signature), then a text block.
    public static func thinkingMessage(
        thinking: String = "Let me work through this step by step. 27 * 453 = 12231.", signature: String = defaultSignature,
        text: String = "27 * 453 = 12,231.", model: String = defaultModel, inputTokens: Int = 48, outputTokens: Int = 210,
        id: String = defaultID
    ) -> String {
        message(
            [.thinking(thinking, signature: signature), .text(text)], meta: Meta(id: id, model: model),
            usage: Usage(input: inputTokens, output: outputTokens))
    }

    /// The web-search exchange of the web search tool guide: text, server_tool_use (web_search),
    /// web_search_tool_result, then text blocks, the last one with a citation.
    public static func serverToolMessage(
        model: String = defaultModel, inputTokens: Int = 6039, outputTokens: Int = 931, id: String = defaultID
    ) -> String {
        message(
            webSearchBlocks(), meta: Meta(id: id, model: model),
            usage: Usage(input: inputTokens, output: outputTokens, webSearchRequests: 1))
    }

    /// The content of `toolUseMessage`: an optional text block, then the tool_use block.
    public static func toolUseBlocks(
        name: String, input: String, preamble: String? = nil, toolUseID: String = defaultToolUseID
    ) -> [Block] {
        (preamble.map { [Block.text($0)] } ?? []) + [.toolUse(id: toolUseID, name: name, input: input)]
    }

    /// The content of `serverToolMessage`.
    public static func webSearchBlocks(serverToolUseID: String = defaultServerToolUseID) -> [Block] {
        let url = "https://en.wikipedia.org/wiki/Claude_Shannon"
        let title = "Claude Shannon - Wikipedia"
        let result =
            #"[{"type":"web_search_result","url":\#(quote(url)),"title":\#(quote(title)),"#
            + #""encrypted_content":"EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y","#
            + #""page_age":"April 30, 2025"}]"#
        let citation =
            #"{"type":"web_search_result_location","url":\#(quote(url)),"title":\#(quote(title)),"#
            + #""encrypted_index":"Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm","#
            + #""cited_text":"Claude Elwood Shannon (April 30, 1916 – February 24, 2001) was an American mathematician"}"#
        return [
            .text("I'll search for when Claude Shannon was born."),
            .serverToolUse(id: serverToolUseID, name: "web_search", input: #"{"query":"claude shannon birth date"}"#),
            .webSearchToolResult(toolUseID: serverToolUseID, content: result),
            .text("Based on the search results, "),
            .text("Claude Shannon was born on April 30, 1916, in Petoskey, Michigan", citations: [citation]),
        ]
    }

    // MARK: Streams

    /// `event: <name>\ndata: <json>\n\n`: one server-sent event, as Anthropic names every event.
    public static func event(_ name: String, _ json: String) -> String { "event: \(name)\ndata: \(json)\n\n" }

    /// `message_start`: the message with empty content, null stop_reason and the prompt's usage.
    public static func messageStart(meta: Meta = Meta(), usage: Usage = Usage()) -> String {
        var opening = usage
        opening.output = 1
        opening.webSearchRequests = nil
        return event(
            "message_start",
            #"{"type":"message_start","message":{"id":\#(quote(meta.id)),"type":"message","role":"assistant","#
                + #""model":\#(quote(meta.model)),"content":[],"stop_reason":null,"stop_sequence":null,"#
                + #""usage":\#(opening.json)}}"#)
    }

    /// `ping`, which the API sends at any point of a stream.
    public static let ping = event("ping", #"{"type":"ping"}"#)

    /// `content_block_start` with the block's opening form (`json` is the content_block object).
    public static func contentBlockStart(index: Int, _ json: String) -> String {
        event("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":\#(json)}"#)
    }

    /// `content_block_delta` (`delta` is the delta object as JSON text).
    public static func contentBlockDelta(index: Int, _ delta: String) -> String {
        event("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":\#(delta)}"#)
    }

    /// A `text_delta`.
    public static func textDelta(index: Int, _ text: String) -> String {
        contentBlockDelta(index: index, #"{"type":"text_delta","text":\#(quote(text))}"#)
    }

    /// An `input_json_delta` carrying a fragment of a tool's input JSON.
    public static func inputJSONDelta(index: Int, _ partialJSON: String) -> String {
        contentBlockDelta(index: index, #"{"type":"input_json_delta","partial_json":\#(quote(partialJSON))}"#)
    }

    /// A `thinking_delta`.
    public static func thinkingDelta(index: Int, _ thinking: String) -> String {
        contentBlockDelta(index: index, #"{"type":"thinking_delta","thinking":\#(quote(thinking))}"#)
    }

    /// A `signature_delta`, sent just before a thinking block's `content_block_stop`.
    public static func signatureDelta(index: Int, _ signature: String) -> String {
        contentBlockDelta(index: index, #"{"type":"signature_delta","signature":\#(quote(signature))}"#)
    }

    /// A `citations_delta` adding one citation (JSON text) to a text block.
    public static func citationsDelta(index: Int, _ citation: String) -> String {
        contentBlockDelta(index: index, #"{"type":"citations_delta","citation":\#(citation)}"#)
    }

    /// `content_block_stop`.
    public static func contentBlockStop(index: Int) -> String {
        event("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#)
    }

    /// `message_delta` with the stop reason and the cumulative `usage.output_tokens`.
    public static func messageDelta(stopReason: String? = "end_turn", stopSequence: String? = nil, outputTokens: Int) -> String {
        event(
            "message_delta",
            #"{"type":"message_delta","delta":{"stop_reason":\#(stopReason.map(quote) ?? "null"),"#
                + #""stop_sequence":\#(stopSequence.map(quote) ?? "null")},"usage":{"output_tokens":\#(outputTokens)}}"#)
    }

    /// `message_stop`, the last event of a stream.
    public static let messageStop = event("message_stop", #"{"type":"message_stop"}"#)

    /// The events streaming one content block at `index`: its opening form, its deltas (text, thinking and
    /// tool input split into `chunkSize`-character pieces; tool input opens with an empty fragment, as the
    /// API sends it; a thinking block ends with its signature), then `content_block_stop`.
    public static func blockEvents(_ block: Block, index: Int, chunkSize: Int = defaultChunkSize) -> [String] {
        var events: [String]
        switch block {
        case .text(let text, let citations):
            events = [contentBlockStart(index: index, #"{"type":"text","text":""}"#)]
            events += citations.map { citationsDelta(index: index, $0) }
            events += chunks(text, size: chunkSize).map { textDelta(index: index, $0) }
        case .thinking(let thinking, let signature):
            events = [contentBlockStart(index: index, #"{"type":"thinking","thinking":""}"#)]
            events += chunks(thinking, size: chunkSize).map { thinkingDelta(index: index, $0) }
            events.append(signatureDelta(index: index, signature))
        case .toolUse(let id, let name, let input), .serverToolUse(let id, let name, let input):
            let type = if case .toolUse = block { "tool_use" } else { "server_tool_use" }
            events = [contentBlockStart(index: index, #"{"type":"\#(type)","id":\#(quote(id)),"name":\#(quote(name)),"input":{}}"#)]
            events += ([""] + chunks(input, size: chunkSize)).map { inputJSONDelta(index: index, $0) }
        case .redactedThinking, .webSearchToolResult:
            events = [contentBlockStart(index: index, block.json)]
        }
        return events + [contentBlockStop(index: index)]
    }

    /// A whole stream: message_start, ping, every block's events, message_delta, message_stop.
    public static func stream(
        _ blocks: [Block], meta: Meta = Meta(), stopReason: String? = "end_turn", stopSequence: String? = nil,
        usage: Usage = Usage(), chunkSize: Int = defaultChunkSize
    ) -> [String] {
        var events = [messageStart(meta: meta, usage: usage), ping]
        for (index, block) in blocks.enumerated() { events += blockEvents(block, index: index, chunkSize: chunkSize) }
        return events + [messageDelta(stopReason: stopReason, stopSequence: stopSequence, outputTokens: usage.output), messageStop]
    }

    /// `textMessage`, streamed.
    public static func textStream(
        text: String = "Hello! How can I help you today?", model: String = defaultModel, inputTokens: Int = 25,
        outputTokens: Int = 12, stopReason: String = "end_turn", id: String = defaultID, cacheCreationTokens: Int = 0,
        cacheReadTokens: Int = 0, chunkSize: Int = defaultChunkSize
    ) -> [String] {
        stream(
            [.text(text)], meta: Meta(id: id, model: model), stopReason: stopReason,
            usage: Usage(input: inputTokens, output: outputTokens, cacheCreation: cacheCreationTokens, cacheRead: cacheReadTokens),
            chunkSize: chunkSize)
    }

    /// `toolUseMessage`, streamed: the input JSON arrives in `input_json_delta` fragments.
    public static func toolUseStream(
        name: String, input: String, preamble: String? = nil, toolUseID: String = defaultToolUseID,
        model: String = defaultModel, inputTokens: Int = 472, outputTokens: Int = 89, id: String = defaultID,
        chunkSize: Int = defaultChunkSize
    ) -> [String] {
        stream(
            toolUseBlocks(name: name, input: input, preamble: preamble, toolUseID: toolUseID),
            meta: Meta(id: id, model: model), stopReason: "tool_use", usage: Usage(input: inputTokens, output: outputTokens),
            chunkSize: chunkSize)
    }

    /// `thinkingMessage`, streamed: thinking_delta pieces, a signature_delta, then text_delta pieces.
    public static func thinkingStream(
        thinking: String = "Let me work through this step by step. 27 * 453 = 12231.", signature: String = defaultSignature,
        text: String = "27 * 453 = 12,231.", model: String = defaultModel, inputTokens: Int = 48, outputTokens: Int = 210,
        id: String = defaultID, chunkSize: Int = defaultChunkSize
    ) -> [String] {
        stream(
            [.thinking(thinking, signature: signature), .text(text)], meta: Meta(id: id, model: model),
            usage: Usage(input: inputTokens, output: outputTokens), chunkSize: chunkSize)
    }

    /// `serverToolMessage`, streamed: the search query in input_json_delta fragments, the result block
    /// whole in its content_block_start, the citation as a citations_delta.
    public static func serverToolStream(
        model: String = defaultModel, inputTokens: Int = 6039, outputTokens: Int = 931, id: String = defaultID,
        chunkSize: Int = defaultChunkSize
    ) -> [String] {
        stream(
            webSearchBlocks(), meta: Meta(id: id, model: model),
            usage: Usage(input: inputTokens, output: outputTokens, webSearchRequests: 1), chunkSize: chunkSize)
    }

    /// `text` split into pieces of `size` characters (the last may be shorter); an empty text gives no piece.
    public static func chunks(_ text: String, size: Int) -> [String] {
        let size = max(1, size)
        var pieces: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return pieces
    }

    // MARK: Errors

    /// The error `type` Anthropic documents for an HTTP status (`api_error` for unlisted ones).
    public static func errorType(forStatus status: Int) -> String {
        switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 529: "overloaded_error"
        default: "api_error"
        }
    }

    /// A message like the API's for an HTTP status.
    public static func errorMessage(forStatus status: Int) -> String {
        switch status {
        case 400: "messages: at least one message is required"
        case 401: "invalid x-api-key"
        case 403: "Your API key does not have permission to use the specified resource."
        case 404: "model: claude-nonexistent-1"
        case 413: "Request exceeds the maximum allowed number of bytes."
        case 429: "Number of request tokens has exceeded your per-minute rate limit"
        case 529: "Overloaded"
        default: "Internal server error"
        }
    }

    /// An error body: `{"type":"error","error":{"type","message"},"request_id"}`; `requestID` nil leaves it out.
    public static func errorBody(
        status: Int, message: String? = nil, type: String? = nil, requestID: String? = defaultRequestID
    ) -> String {
        var text =
            #"{"type":"error","error":{"type":\#(quote(type ?? errorType(forStatus: status))),"#
            + #""message":\#(quote(message ?? errorMessage(forStatus: status)))}"#
        if let requestID { text += #","request_id":\#(quote(requestID))"# }
        return text + "}"
    }

    /// An `event: error` inside a stream: `{"type":"error","error":{"type","message"}}`.
    public static func errorEvent(type: String = "overloaded_error", message: String = "Overloaded") -> String {
        event("error", #"{"type":"error","error":{"type":\#(quote(type)),"message":\#(quote(message))}}"#)
    }

    // MARK: Loopback responses

    /// A 200 answering a whole message (or any JSON body), with the `request-id` header the API sends.
    public static func messageResponse(
        _ body: String, requestID: String? = defaultRequestID, headers: [(String, String)] = []
    ) -> LoopbackResponse {
        .json(200, body, headers: (requestID.map { [("request-id", $0)] } ?? []) + headers)
    }

    /// An error answer: `errorBody` with the status, and `request-id` as a header too unless
    /// `requestIDHeader` is false. Extra `headers` (e.g. `retry-after`) are added.
    public static func errorResponse(
        status: Int, message: String? = nil, type: String? = nil, requestID: String? = defaultRequestID,
        requestIDHeader: Bool = true, headers: [(String, String)] = []
    ) -> LoopbackResponse {
        let idHeader = requestIDHeader ? (requestID.map { [("request-id", $0)] } ?? []) : []
        return .json(
            status, errorBody(status: status, message: message, type: type, requestID: requestID), headers: idHeader + headers)
    }

    /// A 200 `text/event-stream` answer writing each event as one chunk, `delay` seconds apart. With
    /// `hangUp`, the connection is then cut without the closing chunk, as a dropped stream would be.
    public static func sseResponse(
        _ events: [String], delay: Double = 0, hangUp: Bool = false, requestID: String? = defaultRequestID
    ) -> LoopbackResponse {
        var parts: [LoopbackResponse.Part] = []
        for (index, event) in events.enumerated() {
            if index > 0, delay > 0 { parts.append(.delay(delay)) }
            parts.append(.text(event))
        }
        if hangUp { parts.append(.hangUp) }
        let headers = [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache")]
            + (requestID.map { [("request-id", $0)] } ?? [])
        return LoopbackResponse(status: 200, headers: headers, parts: parts, chunked: true)
    }

    /// A JSON string literal for `text`, escaped as JSON requires.
    public static func quote(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding a String cannot fail.
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
