import AIDE
import Foundation
import Testing

// The event-stream rules checked here are those of the WHATWG HTML standard, §9.2
// ("Server-sent events"), section "Parsing an event stream".

/// Feeds `pieces` in order, then finishes; returns the events and finish()'s verdict.
private func parse(_ pieces: [[UInt8]]) -> (events: [SSEEvent], partial: Bool) {
    var parser = SSEParser()
    var events: [SSEEvent] = []
    for piece in pieces { events += parser.feed(Data(piece)) }
    let partial = parser.finish()
    return (events, partial)
}

private func parse(_ text: String) -> [SSEEvent] {
    parse([Array(text.utf8)]).events
}

/// Every way of cutting `bytes` into two pieces (including empty first/last), plus byte by byte.
private func splittings(_ bytes: [UInt8]) -> [[[UInt8]]] {
    var all: [[[UInt8]]] = []
    for cut in 0...bytes.count {
        all.append([Array(bytes[..<cut]), Array(bytes[cut...])])
    }
    all.append(bytes.map { [$0] })
    return all
}

@Suite struct SSEParserTests {
    // MARK: Fields and dispatch

    @Test func eventsAreSeparatedByBlankLines() {
        let events = parse("data: one\n\ndata: two\n\ndata: three\n\n")
        #expect(events.map(\.data) == ["one", "two", "three"])
        #expect(events.allSatisfy { $0.event == nil && $0.id == nil && $0.retry == nil })
    }

    @Test func eventTypeIsReported() {
        let events = parse("event: ping\ndata: {}\n\ndata: plain\n\n")
        #expect(events == [SSEEvent(event: "ping", data: "{}"), SSEEvent(data: "plain")])
    }

    @Test func eventTypeDoesNotLeakIntoTheNextEvent() {
        let events = parse("event: a\ndata: 1\n\ndata: 2\n\n")
        #expect(events.map(\.event) == ["a", nil])
    }

    @Test func multiLineDataIsJoinedWithNewlines() {
        let events = parse("data: first\ndata: second\ndata:\ndata: fourth\n\n")
        #expect(events == [SSEEvent(data: "first\nsecond\n\nfourth")])
    }

    @Test func onlyOneLeadingSpaceIsStripped() {
        let events = parse("data:  two spaces\n\ndata:none\n\ndata:\tTab\n\nevent:   x\ndata: y \n\n")
        #expect(events.map(\.data) == [" two spaces", "none", "\tTab", "y "])
        #expect(events.last?.event == "  x")
    }

    @Test func commentLinesAreIgnored() {
        let events = parse(": ping\n\n:\ndata: a\n: in the middle\ndata: b\n\n: trailing comment\n\n")
        #expect(events == [SSEEvent(data: "a\nb")])
    }

    @Test func idAndRetryFields() {
        let events = parse("id: 42\nretry: 3000\ndata: x\n\ndata: y\n\nid\ndata: z\n\n")
        #expect(events.count == 3)
        #expect(events[0] == SSEEvent(data: "x", id: "42", retry: 3000))
        // The last event ID persists across events until changed...
        #expect(events[1].id == "42")
        // ...and an `id` field with no value resets it to empty.
        #expect(events[2].id == "")
    }

    @Test func invalidRetryAndIdWithNullAreIgnored() {
        let events = parse("retry: soon\nid: a\u{0}b\ndata: x\n\n")
        #expect(events == [SSEEvent(data: "x")])
    }

    @Test func unknownFieldsAreIgnored() {
        let events = parse("foo: bar\ndata: x\nDATA: y\nData: z\n\n")
        #expect(events == [SSEEvent(data: "x")])
    }

    @Test func fieldWithoutColonHasEmptyValue() {
        let events = parse("data\n\ndata\ndata\n\n")
        #expect(events == [SSEEvent(data: ""), SSEEvent(data: "\n")])
    }

    @Test func emptyDataValueStillDispatches() {
        let events = parse("data:\n\nevent: e\ndata: \n\n")
        #expect(events == [SSEEvent(data: ""), SSEEvent(event: "e", data: "")])
    }

    @Test func blockWithoutDataDispatchesNothing() {
        let events = parse("event: lonely\n\nid: 7\n\nretry: 10\n\ndata: after\n\n")
        // Only the last block has data, and the event type of the first block did not carry over.
        #expect(events.count == 1)
        #expect(events[0].data == "after")
        #expect(events[0].event == nil)
        #expect(events[0].id == "7")
    }

    @Test func valueMayContainColons() {
        let events = parse("data: {\"a\":\"b:c\"}\n\n")
        #expect(events == [SSEEvent(data: #"{"a":"b:c"}"#)])
    }

    // MARK: Line endings

    @Test(arguments: ["\r\n", "\n", "\r"])
    func everyLineEndingWorks(_ newline: String) {
        let text = ["event: a", "data: 1", "data: 2", "", ": c", "data: 3", "", ""].joined(separator: newline)
        let events = parse(text)
        #expect(events == [SSEEvent(event: "a", data: "1\n2"), SSEEvent(data: "3")])
    }

    @Test func mixedLineEndingsInOneStream() {
        let events = parse("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\rdata: e\n\n")
        #expect(events.map(\.data) == ["a\nb\nc", "d", "e"])
    }

    @Test func crlfIsOneLineEndingNotTwo() {
        // "data: a\r\n\r\n" is one blank line after the data line; "\r\n" must not read as "\r" + "\n".
        let events = parse("data: a\r\ndata: b\r\n\r\n")
        #expect(events == [SSEEvent(data: "a\nb")])
    }

    @Test func crAtChunkEndThenLfAtNextChunkStartIsOneLineEnding() {
        // Two data lines with CRLF where every CR ends a chunk; if the LF were read as a blank line,
        // "a" would be dispatched on its own.
        let result = parse([Array("data: a\r".utf8), Array("\ndata: b\r".utf8), Array("\n\r".utf8), Array("\n".utf8)])
        #expect(result.events == [SSEEvent(data: "a\nb")])
        #expect(result.partial == false)

        // And a real blank line made of CR, then LF in the next chunk, dispatches exactly once.
        var parser = SSEParser()
        #expect(parser.feed("data: x\r\n\r") == [SSEEvent(data: "x")])
        #expect(parser.feed("\ndata: y\r\n\r\n") == [SSEEvent(data: "y")])
        #expect(parser.finish() == false)
    }

    @Test func eventIsDispatchedAsSoonAsItsBlankLineArrives() {
        var parser = SSEParser()
        #expect(parser.feed("data: a\n").isEmpty)
        #expect(parser.feed("\n") == [SSEEvent(data: "a")])
        #expect(parser.feed("data: b\r").isEmpty)
        // A lone CR already ends the blank line; no need to wait for a possible LF.
        #expect(parser.feed("\r") == [SSEEvent(data: "b")])
    }

    // MARK: Splitting

    private static let splitCorpus: [String] = [
        // LF, with a comment, an id, a retry, multi-line data and multi-byte UTF-8.
        "event: message_start\ndata: {\"a\":1}\n\n: ping\n\nid: 9\nretry: 250\ndata: héllo 😀\ndata: ∑\n\ndata\n\n",
        // CRLF everywhere, including blank lines.
        "event: x\r\ndata: 1\r\n\r\ndata: 2\r\ndata: 3\r\n\r\n:c\r\n\r\ndata: 😀😀\r\n\r\n",
        // Lone CRs, and CR-CR-LF sequences whose meaning depends on how CR and LF pair up.
        "data: a\r\rdata: b\r\r\ndata: c\r\n\r\rdata: d\n\r\n",
        // A byte order mark first.
        "\u{FEFF}data: bom\n\nevent: e\ndata: after bom\n\n",
    ]

    @Test(arguments: splitCorpus)
    func anySplitGivesTheSameEvents(_ text: String) {
        let bytes = Array(text.utf8)
        let whole = parse([bytes])
        #expect(!whole.events.isEmpty)
        #expect(whole.partial == false)
        for pieces in splittings(bytes) {
            let split = parse(pieces)
            #expect(
                split.events == whole.events,
                "split into pieces of sizes \(pieces.map(\.count).prefix(3))… differs")
            #expect(split.partial == false)
        }
    }

    @Test func splitCorpusExpectedEvents() {
        // Pin down what the whole-stream parse gives, so the split test compares against the right thing.
        #expect(parse(Self.splitCorpus[0]) == [
            SSEEvent(event: "message_start", data: #"{"a":1}"#),
            SSEEvent(data: "héllo 😀\n∑", id: "9", retry: 250),
            SSEEvent(data: "", id: "9"),
        ])
        #expect(parse(Self.splitCorpus[1]) == [
            SSEEvent(event: "x", data: "1"), SSEEvent(data: "2\n3"), SSEEvent(data: "😀😀"),
        ])
        // "\r\r" = line end + blank line; "\r\r\n" = the same, the LF pairing with the second CR;
        // "\r\n\r" likewise; "\n\r\n" = line end + blank line.
        #expect(parse(Self.splitCorpus[2]).map(\.data) == ["a", "b", "c", "d"])
        #expect(parse(Self.splitCorpus[3]) == [SSEEvent(data: "bom"), SSEEvent(event: "e", data: "after bom")])
    }

    @Test func multiByteCharactersSplitAcrossChunks() {
        let text = "data: 日本語 — 😀 ü\n\n"
        let bytes = Array(text.utf8)
        let emoji = Array("😀".utf8)
        // Cut inside the 4-byte emoji, after its first and third bytes.
        let start = bytes.firstIndex(of: emoji[0])!
        let result = parse([Array(bytes[..<(start + 1)]), Array(bytes[(start + 1)..<(start + 3)]), Array(bytes[(start + 3)...])])
        #expect(result.events == [SSEEvent(data: "日本語 — 😀 ü")])
    }

    // MARK: Byte order mark

    @Test func leadingByteOrderMarkIsSkipped() {
        #expect(parse("\u{FEFF}data: x\n\n") == [SSEEvent(data: "x")])
        // Only at the very start: a BOM later is part of the text.
        var parser = SSEParser()
        #expect(parser.feed("data: a\n\n") == [SSEEvent(data: "a")])
        #expect(parser.feed("data: \u{FEFF}b\n\n") == [SSEEvent(data: "\u{FEFF}b")])
    }

    @Test func byteOrderMarkSplitAcrossChunksIsSkipped() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let rest = Array("data: x\n\n".utf8)
        for pieces in [[bom[0...0], bom[1...2] + rest[...]], [bom[0...1], bom[2...2] + rest[...]], [bom[0...0], bom[1...1], bom[2...2], rest[...]]] {
            let result = parse(pieces.map { Array($0) })
            #expect(result.events == [SSEEvent(data: "x")], "pieces \(pieces.map(\.count))")
        }
    }

    @Test func emptyChunksChangeNothing() {
        var parser = SSEParser()
        #expect(parser.feed(Data()).isEmpty)
        #expect(parser.feed("\u{FEFF}data: x\n").isEmpty)
        #expect(parser.feed(Data()).isEmpty)
        #expect(parser.feed("\n") == [SSEEvent(data: "x")])
    }

    // MARK: End of stream

    @Test func finishReportsAndDropsAnIncompleteEvent() {
        var parser = SSEParser()
        #expect(parser.feed("data: done\n\ndata: half\n") == [SSEEvent(data: "done")])
        #expect(parser.finish() == true)
        // The dropped event never appears, even if more input follows on the reset parser.
        #expect(parser.feed("\n").isEmpty)
        #expect(parser.finish() == false)
    }

    @Test func finishReportsAPartialLine() {
        var parser = SSEParser()
        #expect(parser.feed("data: no newline").isEmpty)
        #expect(parser.finish() == true)
    }

    @Test func finishAfterCompleteEventsIsClean() {
        var parser = SSEParser()
        #expect(parser.feed("data: a\n\n: trailing comment\n").count == 1)
        #expect(parser.finish() == false)
    }

    // MARK: Real provider streams

    @Test func anthropicMessagesStream() throws {
        // Shape of a real POST /v1/messages stream (https://docs.anthropic.com/en/api/messages-streaming).
        let wire = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

            event: message_stop
            data: {"type":"message_stop"}


            """
        let bytes = Array(wire.utf8)
        let events = parse([bytes]).events
        #expect(events.map { $0.event } == [
            "message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
            "content_block_stop", "message_delta", "message_stop",
        ])
        // Each data payload is the complete JSON object, with a type matching the event name.
        for event in events {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            #expect(object["type"] as? String == event.event)
        }
        let text = events.filter { $0.event == "content_block_delta" }.compactMap { event -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any]
            return (object?["delta"] as? [String: Any])?["text"] as? String
        }.joined()
        #expect(text == "Hello!")

        // Fed in network-sized odd chunks, the result is the same.
        var parser = SSEParser()
        var chunked: [SSEEvent] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 37)
            chunked += parser.feed(Data(bytes[offset..<end]))
            offset = end
        }
        #expect(chunked == events)
        #expect(parser.finish() == false)
    }

    @Test func openAIChatCompletionsStream() throws {
        // Shape of a real POST /v1/chat/completions stream with stream: true.
        let chunks = [
            #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#
                + "\n\n",
            #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#
                + "\n\n",
            #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}]}"#
                + "\n\n",
            #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#
                + "\n\n",
            "data: [DONE]\n\n",
        ]
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for chunk in chunks { events += parser.feed(chunk) }
        #expect(parser.finish() == false)

        #expect(events.count == 5)
        #expect(events.allSatisfy { $0.event == nil })
        #expect(events.last?.data == "[DONE]")
        var text = ""
        var finish: String?
        for event in events.dropLast() {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            let choice = try #require((object["choices"] as? [[String: Any]])?.first)
            if let content = (choice["delta"] as? [String: Any])?["content"] as? String { text += content }
            if let reason = choice["finish_reason"] as? String { finish = reason }
        }
        #expect(text == "Hello world")
        #expect(finish == "stop")

        // The whole stream split at every byte boundary parses the same.
        let bytes = Array(chunks.joined().utf8)
        for pieces in splittings(bytes) {
            #expect(parse(pieces).events == events)
        }
    }
}
