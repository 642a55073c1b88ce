import Foundation

// `Encodable` values written straight into a `JSONWriter`: compact, keys in the order the value
// encodes them, dates as ISO 8601 (whole seconds, UTC, as `ReportSchema.encoder`), NaN and
// infinities as `null`. For documents too large for `JSONEncoder` to be quick (an HTML page embeds
// 10,000 nodes with their code and output); `ReportSchema.encoder` stays the encoder of
// the JSON report, whose keys are sorted and indented.
//
// A value that asks its encoder for a keyed container twice gets the same object both times, so a
// type can encode two parts flat (`NodeView`, as `JSONEncoder` allows too).

extension JSONWriter {
    /// Appends `value`'s JSON.
    mutating func encode<Value: Encodable>(_ value: Value) throws {
        let sink = Sink(self)
        self = JSONWriter(scriptSafe: scriptSafe)  // the sink holds the only reference to the bytes meanwhile
        defer { self = sink.writer }
        try sink.encode(value, path: [])
    }
}

/// The shared state of one encoding: the bytes, and the containers still open, innermost last.
private final class Sink {
    var writer: JSONWriter
    var open: [Frame] = []

    init(_ writer: JSONWriter) {
        self.writer = writer
    }

    /// One value being written: what it opened (an object, an array or nothing yet) and how many
    /// members it has written.
    final class Frame {
        enum Kind { case none, object, array, single }
        var kind = Kind.none
        var count = 0
    }

    /// Closes the containers opened after `frame` (nested containers the value left open), so
    /// the next write goes into `frame`.
    func focus(_ frame: Frame) {
        while let last = open.last, last !== frame { close(open.removeLast()) }
    }

    func close(_ frame: Frame) {
        switch frame.kind {
        case .object: writer.raw("}")
        case .array: writer.raw("]")
        case .none: writer.raw("{}")  // encoded nothing, as JSONEncoder writes it
        case .single: break
        }
    }

    /// Writes `value` in a frame of its own, closed when its `encode(to:)` returns.
    func encode<Value: Encodable>(_ value: Value, path: @autoclosure () -> [any CodingKey]) throws {
        if writeLeaf(value) { return }
        let frame = Frame()
        open.append(frame)
        try value.encode(to: StreamEncoder(sink: self, frame: frame, codingPath: path()))
        focus(frame)
        close(open.removeLast())
    }

    /// Writes `value` when it is a scalar, a date, or an optional (`Optional`, `Nullable`) that is
    /// nil or holds one: most of a page's values. One conformance check instead of a cast per
    /// scalar type, no frame and no coding path. False for anything else, writing nothing.
    func writeLeaf<Value: Encodable>(_ value: Value) -> Bool {
        if let leaf = value as? any StreamLeaf {
            leaf.write(to: self)
            return true
        }
        if let optional = value as? any StreamOptional {
            guard let wrapped = optional.streamWrapped else {
                writer.null()
                return true
            }
            return writeLeaf(wrapped)
        }
        return false
    }

    /// The last date written and its text: a node's and its calls' dates often share a second.
    private var lastDate: (seconds: Int64, text: [UInt8])?

    /// ISO 8601 in UTC to the second (`2026-12-01T14:41:12Z`).
    func writeDate(_ date: Date) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        if let lastDate, lastDate.seconds == seconds { return writer.raw(json: lastDate.text) }
        var unix = time_t(seconds)
        var parts = tm()
        gmtime_r(&unix, &parts)
        var text: [UInt8] = Array("\"0000-00-00T00:00:00Z\"".utf8)
        func put(_ value: Int32, at index: Int, digits: Int) {
            var value = Int(value)
            for offset in stride(from: digits - 1, through: 0, by: -1) {
                text[index + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(parts.tm_year + 1900, at: 1, digits: 4)
        put(parts.tm_mon + 1, at: 6, digits: 2)
        put(parts.tm_mday, at: 9, digits: 2)
        put(parts.tm_hour, at: 12, digits: 2)
        put(parts.tm_min, at: 15, digits: 2)
        put(parts.tm_sec, at: 18, digits: 2)
        lastDate = (seconds, text)
        writer.raw(json: text)
    }

    /// Opens `frame` as `kind` unless it already is (a second keyed container: same object).
    func begin(_ frame: Frame, as kind: Frame.Kind) {
        focus(frame)
        guard frame.kind != kind else { return }
        frame.kind = kind
        switch kind {
        case .object: writer.raw("{")
        case .array: writer.raw("[")
        case .none, .single: break
        }
    }

    /// The separator and, in an object, the key before a member of `frame`.
    func member(of frame: Frame, key: (any CodingKey)?) {
        focus(frame)
        if frame.count > 0 { writer.raw(",") }
        frame.count += 1
        if let key {
            writer.string(key.stringValue)
            writer.raw(":")
        }
    }

    /// A nested container's frame, opened in place of a member.
    func nested(in frame: Frame, key: (any CodingKey)?, as kind: Frame.Kind) -> Frame {
        member(of: frame, key: key)
        let child = Frame()
        open.append(child)
        begin(child, as: kind)
        return child
    }
}

/// A value the sink writes itself, without its `encode(to:)`.
private protocol StreamLeaf {
    func write(to sink: Sink)
}

extension String: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.string(self) } }
extension Substring: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.string(self) } }
extension Bool: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.bool(self) } }
extension Double: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.double(self) } }
extension Float: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.double(Double(self)) } }
extension Int: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension Int8: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension Int16: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension Int32: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension Int64: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension UInt: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension UInt8: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension UInt16: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension UInt32: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension UInt64: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writer.int(self) } }
extension Date: StreamLeaf { fileprivate func write(to sink: Sink) { sink.writeDate(self) } }

/// An optional, written `null` when nil and as what it holds otherwise (the `null` that
/// `Nullable` asks for; a bare `Optional` nested in an array or encoded alone writes the same).
private protocol StreamOptional {
    var streamWrapped: (any Encodable)? { get }
}

extension Optional: StreamOptional where Wrapped: Encodable {
    fileprivate var streamWrapped: (any Encodable)? { self }
}

extension Nullable: StreamOptional {
    fileprivate var streamWrapped: (any Encodable)? { wrappedValue }
}

private struct StreamEncoder: Encoder {
    let sink: Sink
    let frame: Sink.Frame
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        sink.begin(frame, as: .object)
        return KeyedEncodingContainer(KeyedStream<Key>(sink: sink, frame: frame, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        sink.begin(frame, as: .array)
        return UnkeyedStream(sink: sink, frame: frame, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        sink.begin(frame, as: .single)
        return SingleStream(sink: sink, frame: frame, codingPath: codingPath)
    }
}

private struct KeyedStream<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: Sink
    let frame: Sink.Frame
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.null()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        try sink.encode(value, path: codingPath + [key])
    }

    // Scalars, the bulk of a page, straight to the writer: no dynamic cast, no coding path.
    mutating func encode(_ value: String, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.string(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.double(value)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        sink.member(of: frame, key: key)
        sink.writer.bool(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = sink.nested(in: frame, key: key, as: .object)
        return KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, frame: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = sink.nested(in: frame, key: key, as: .array)
        return UnkeyedStream(sink: sink, frame: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(forKey: Key(stringValue: "super")!)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = sink.nested(in: frame, key: key, as: .none)
        return StreamEncoder(sink: sink, frame: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedStream: UnkeyedEncodingContainer {
    let sink: Sink
    let frame: Sink.Frame
    let codingPath: [any CodingKey]
    var count: Int { frame.count }

    mutating func encodeNil() throws {
        sink.member(of: frame, key: nil)
        sink.writer.null()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        sink.member(of: frame, key: nil)
        try sink.encode(value, path: codingPath)
    }

    mutating func encode(_ value: String) throws {
        sink.member(of: frame, key: nil)
        sink.writer.string(value)
    }

    mutating func encode(_ value: Int) throws {
        sink.member(of: frame, key: nil)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Double) throws {
        sink.member(of: frame, key: nil)
        sink.writer.double(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = sink.nested(in: frame, key: nil, as: .object)
        return KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, frame: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = sink.nested(in: frame, key: nil, as: .array)
        return UnkeyedStream(sink: sink, frame: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        let child = sink.nested(in: frame, key: nil, as: .none)
        return StreamEncoder(sink: sink, frame: child, codingPath: codingPath)
    }
}

private struct SingleStream: SingleValueEncodingContainer {
    let sink: Sink
    let frame: Sink.Frame
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws {
        sink.focus(frame)
        sink.writer.null()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        sink.focus(frame)
        try sink.encode(value, path: codingPath)
    }
}
