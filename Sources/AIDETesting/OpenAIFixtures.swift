import Foundation

/// Wire fixtures for OpenAI's chat completions (`POST /v1/chat/completions`), shaped exactly as the API
/// reference documents them: whole completions, tool-call completions, streamed chunk sequences and
/// error bodies. Every builder returns the text a server would send, ready for `LoopbackResponse`.
public enum OpenAIFixtures {
    /// The `id` used when a fixture is not given one.
    public static let defaultID = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    /// The `model` used when a fixture is not given one (the dated name OpenAI answers for `gpt-4o`).
    public static let defaultModel = "gpt-4o-2024-08-06"
    /// The `created` Unix time used when a fixture is not given one.
    public static let defaultCreated = 1_741_569_952
    /// The `system_fingerprint` used when a fixture is not given one.
    public static let defaultFingerprint = "fp_44709d6fcb"

    /// Token counts as OpenAI reports them in `usage`.
    public struct Usage: Sendable, Hashable {
        /// `prompt_tokens`: every prompt token, cached ones included.
        public var prompt: Int
        /// `completion_tokens`: every generated token, reasoning ones included.
        public var completion: Int
        /// `prompt_tokens_details.cached_tokens`.
        public var cached: Int
        /// `completion_tokens_details.reasoning_tokens`.
        public var reasoning: Int

        /// Counts for a `usage` object; `total_tokens` is their sum.
        public init(prompt: Int, completion: Int, cached: Int = 0, reasoning: Int = 0) {
            self.prompt = prompt
            self.completion = completion
            self.cached = cached
            self.reasoning = reasoning
        }

        /// The `usage` object as JSON text.
        public var json: String {
            #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"#
                + #""prompt_tokens_details":{"cached_tokens":\#(cached),"audio_tokens":0},"#
                + #""completion_tokens_details":{"reasoning_tokens":\#(reasoning),"audio_tokens":0,"#
                + #""accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#
        }
    }

    /// Metadata shared by every object of one response (and every chunk of one stream).
    public struct Meta: Sendable, Hashable {
        /// `id`, `chatcmpl-…`.
        public var id: String
        /// `model` as the server answers it.
        public var model: String
        /// `created`, Unix seconds.
        public var created: Int
        /// `system_fingerprint`, `fp_…`; nil sends `null`.
        public var fingerprint: String?

        /// Metadata with the documented-looking defaults.
        public init(
            id: String = OpenAIFixtures.defaultID, model: String = OpenAIFixtures.defaultModel,
            created: Int = OpenAIFixtures.defaultCreated, fingerprint: String? = OpenAIFixtures.defaultFingerprint
        ) {
            self.id = id
            self.model = model
            self.created = created
            self.fingerprint = fingerprint
        }
    }

    /// A tool call of a whole completion.
    public struct ToolCall: Sendable, Hashable {
        /// `id`, `call_…`.
        public var id: String
        /// `function.name`.
        public var name: String
        /// `function.arguments`: JSON text, sent as a string (it need not be valid JSON).
        public var arguments: String

        /// A function tool call.
        public init(id: String = "call_12345xyz", name: String, arguments: String) {
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    /// One step of a streamed tool-call sequence.
    public enum ToolCallDelta: Sendable, Hashable {
        /// The first delta of a call: index, id, type, function.name and empty arguments.
        case start(index: Int, id: String, name: String)
        /// A later delta: only the index and a fragment of function.arguments.
        case arguments(index: Int, fragment: String)
    }

    // MARK: Whole completions

    /// A `chat.completion` answering text.
    public static func completion(
        _ content: String = "Hello! How can I assist you today?", meta: Meta = Meta(), finishReason: String = "stop",
        usage: Usage? = Usage(prompt: 19, completion: 10)
    ) -> String {
        let message = #"{"role":"assistant","content":\#(quote(content)),"refusal":null}"#
        return object(meta: meta, message: message, finishReason: finishReason, usage: usage)
    }

    /// A `chat.completion` whose message calls tools: content null, finish_reason "tool_calls".
    public static func toolCallCompletion(
        _ calls: [ToolCall], meta: Meta = Meta(), finishReason: String = "tool_calls",
        usage: Usage? = Usage(prompt: 82, completion: 17)
    ) -> String {
        let list = calls.map { call in
            #"{"id":\#(quote(call.id)),"type":"function","function":{"name":\#(quote(call.name)),"arguments":\#(quote(call.arguments))}}"#
        }
        let message = #"{"role":"assistant","content":null,"tool_calls":[\#(list.joined(separator: ","))],"refusal":null}"#
        return object(meta: meta, message: message, finishReason: finishReason, usage: usage)
    }

    /// A completion calling one tool.
    public static func toolCallCompletion(
        name: String, arguments: String, callID: String = "call_12345xyz", meta: Meta = Meta(),
        usage: Usage? = Usage(prompt: 82, completion: 17)
    ) -> String {
        toolCallCompletion([ToolCall(id: callID, name: name, arguments: arguments)], meta: meta, usage: usage)
    }

    private static func object(meta: Meta, message: String, finishReason: String, usage: Usage?) -> String {
        #"{"id":\#(quote(meta.id)),"object":"chat.completion","created":\#(meta.created),"model":\#(quote(meta.model)),"#
            + #""system_fingerprint":\#(meta.fingerprint.map(quote) ?? "null"),"#
            + #""choices":[{"index":0,"message":\#(message),"logprobs":null,"finish_reason":\#(quote(finishReason))}],"#
            + #""usage":\#(usage?.json ?? "null"),"service_tier":"default"}"#
    }

    // MARK: Streams

    /// `data: <json>\n\n`: one server-sent event.
    public static func event(_ json: String) -> String { "data: \(json)\n\n" }

    /// The closing event, `data: [DONE]\n\n`.
    public static let done = "data: [DONE]\n\n"

    /// One `chat.completion.chunk` (JSON, not yet an event). `delta` and `finishReason` are JSON text;
    /// `usage` is the usage object's JSON or "null", and nil leaves the key out (no `include_usage`).
    public static func chunk(
        meta: Meta = Meta(), delta: String, finishReason: String = "null", usage: String? = "null"
    ) -> String {
        var text =
            #"{"id":\#(quote(meta.id)),"object":"chat.completion.chunk","created":\#(meta.created),"#
            + #""model":\#(quote(meta.model)),"system_fingerprint":\#(meta.fingerprint.map(quote) ?? "null"),"#
            + #""choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finishReason)}]"#
        if let usage { text += #","usage":\#(usage)"# }
        return text + "}"
    }

    /// The chunk `stream_options.include_usage` adds last: no choices, the usage of the whole answer.
    public static func usageChunk(meta: Meta = Meta(), usage: Usage) -> String {
        #"{"id":\#(quote(meta.id)),"object":"chat.completion.chunk","created":\#(meta.created),"#
            + #""model":\#(quote(meta.model)),"system_fingerprint":\#(meta.fingerprint.map(quote) ?? "null"),"#
            + #""choices":[],"usage":\#(usage.json)}"#
    }

    /// The events of a streamed text answer: the role chunk (content ""), one chunk per piece, the finish
    /// chunk (empty delta), then the usage chunk when `usage` is given, then `[DONE]`. With `usage` nil
    /// the stream is what a server that ignores `include_usage` sends.
    public static func textStream(
        _ pieces: [String], meta: Meta = Meta(), finishReason: String = "stop",
        usage: Usage? = Usage(prompt: 19, completion: 10)
    ) -> [String] {
        let usageKey: String? = usage == nil ? nil : "null"
        var events = [event(chunk(meta: meta, delta: #"{"role":"assistant","content":"","refusal":null}"#, usage: usageKey))]
        for piece in pieces {
            events.append(event(chunk(meta: meta, delta: #"{"content":\#(quote(piece))}"#, usage: usageKey)))
        }
        events.append(event(chunk(meta: meta, delta: "{}", finishReason: quote(finishReason), usage: usageKey)))
        if let usage { events.append(event(usageChunk(meta: meta, usage: usage))) }
        events.append(done)
        return events
    }

    /// The events of streamed tool calls: the role chunk (content null), one chunk per delta (a `.start`
    /// carries index, id, type, function.name and arguments ""; an `.arguments` only index and the
    /// fragment), the finish chunk ("tool_calls"), the usage chunk when given, then `[DONE]`.
    public static func toolCallStream(
        _ deltas: [ToolCallDelta], meta: Meta = Meta(), finishReason: String = "tool_calls",
        usage: Usage? = Usage(prompt: 82, completion: 17)
    ) -> [String] {
        let usageKey: String? = usage == nil ? nil : "null"
        var events = [event(chunk(meta: meta, delta: #"{"role":"assistant","content":null,"refusal":null}"#, usage: usageKey))]
        for delta in deltas {
            let call: String
            switch delta {
            case .start(let index, let id, let name):
                call =
                    #"{"index":\#(index),"id":\#(quote(id)),"type":"function","#
                    + #""function":{"name":\#(quote(name)),"arguments":""}}"#
            case .arguments(let index, let fragment):
                call = #"{"index":\#(index),"function":{"arguments":\#(quote(fragment))}}"#
            }
            events.append(event(chunk(meta: meta, delta: #"{"tool_calls":[\#(call)]}"#, usage: usageKey)))
        }
        events.append(event(chunk(meta: meta, delta: "{}", finishReason: quote(finishReason), usage: usageKey)))
        if let usage { events.append(event(usageChunk(meta: meta, usage: usage))) }
        events.append(done)
        return events
    }

    /// The deltas of one streamed tool call whose arguments arrive in the given fragments.
    public static func toolCallDeltas(index: Int = 0, id: String = "call_12345xyz", name: String, fragments: [String])
        -> [ToolCallDelta]
    {
        [.start(index: index, id: id, name: name)] + fragments.map { .arguments(index: index, fragment: $0) }
    }

    // MARK: Errors

    /// An error body: `{"error":{"message","type","param","code"}}`; `code` nil sends `null`.
    public static func error(
        _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil
    ) -> String {
        #"{"error":{"message":\#(quote(message)),"type":\#(quote(type)),"param":\#(param.map(quote) ?? "null"),"#
            + #""code":\#(code.map(quote) ?? "null")}}"#
    }

    /// An error event inside a stream: `data: {"error":{…}}\n\n`.
    public static func errorEvent(_ message: String, type: String = "server_error", code: String? = nil) -> String {
        event(error(message, type: type, code: code))
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
