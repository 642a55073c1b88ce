import Foundation

/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field; nil means the default type, "message".
    public var event: String?
    /// The `data:` lines joined with newlines.
    public var data: String
    public var id: String?
    public var retry: Int?

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }
}

/// An incremental parser for `text/event-stream`, following the WHATWG rules: any of CRLF, LF or CR
/// ends a line, comments start with `:`, an event is dispatched at a blank line, and input may be
/// split anywhere (mid-line, or between CR and LF).
public struct SSEParser: Sendable {
    private var pending: [UInt8] = []
    private var skipLineFeed = false
    private var atStreamStart = true
    // The opening bytes, held back while they could still be the start of a byte order mark.
    private var streamHead: [UInt8] = []
    private var eventType: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var lastID: String?
    private var retry: Int?

    public init() {}

    /// Feeds bytes as they arrive; returns the events they complete.
    public mutating func feed(_ chunk: Data) -> [SSEEvent] {
        var events: [SSEEvent] = []
        chunk.withUnsafeBytes { raw in feed(raw, into: &events) }
        return events
    }

    /// Feeds text (for tests and fixtures).
    public mutating func feed(_ text: String) -> [SSEEvent] {
        feed(Data(text.utf8))
    }

    /// At end of stream: an event without its closing blank line is incomplete and dropped, as the
    /// standard says. Returns whether such a partial event (or partial line) was pending.
    public mutating func finish() -> Bool {
        let partial = !pending.isEmpty || !streamHead.isEmpty || hasData
        self = SSEParser()
        return partial
    }

    private mutating func feed(_ raw: UnsafeRawBufferPointer, into events: inout [SSEEvent]) {
        let bytes = raw.bindMemory(to: UInt8.self)
        if atStreamStart, !bytes.isEmpty {
            // A UTF-8 byte order mark may open the stream, possibly split across chunks: hold the
            // opening bytes back while they are still a prefix of the mark.
            let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
            streamHead.append(contentsOf: bytes)
            if streamHead.count < 3, streamHead.elementsEqual(mark.prefix(streamHead.count)) { return }
            atStreamStart = false
            let opening = streamHead.starts(with: mark) ? Array(streamHead.dropFirst(3)) : streamHead
            streamHead = []
            opening.withUnsafeBytes { feed($0, into: &events) }
            return
        }
        var start = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if skipLineFeed {
                skipLineFeed = false
                if byte == 0x0A {
                    index += 1
                    start = index
                    continue
                }
            }
            if byte == 0x0A || byte == 0x0D {
                let line = UnsafeBufferPointer(rebasing: bytes[start..<index])
                if pending.isEmpty {
                    process(line: line, into: &events)
                } else {
                    pending.append(contentsOf: line)
                    let joined = pending
                    pending.removeAll(keepingCapacity: true)
                    joined.withUnsafeBufferPointer { process(line: $0, into: &events) }
                }
                skipLineFeed = byte == 0x0D
                start = index + 1
            }
            index += 1
        }
        if start < count {
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<count]))
        }
    }

    private mutating func process(line: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) {
        if line.isEmpty {
            if hasData {
                events.append(
                    SSEEvent(event: eventType, data: String(decoding: data, as: UTF8.self), id: lastID, retry: retry))
            }
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventType = nil
            retry = nil
            return
        }
        if line[0] == 0x3A { return }  // ":" comment (keep-alive)

        let colon = line.firstIndex(of: 0x3A) ?? line.count
        let field = UnsafeBufferPointer(rebasing: line[0..<colon])
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count, line[valueStart] == 0x20 { valueStart += 1 }
        let value = UnsafeBufferPointer(rebasing: line[valueStart..<line.count])

        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if field.elementsEqual("id".utf8) {
            if !value.contains(0) { lastID = String(decoding: value, as: UTF8.self) }
        } else if field.elementsEqual("retry".utf8) {
            if let milliseconds = Int(String(decoding: value, as: UTF8.self)) { retry = milliseconds }
        }
    }
}
