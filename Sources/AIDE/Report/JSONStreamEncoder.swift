import Foundation

// `Encodable` values written straight into a `JSONWriter`: compact, keys in the order the value
// encodes them, dates as ISO 8601 (whole seconds, UTC, as `ReportSchema.encoder`), NaN and
// infinities as `null`. For documents too large for `JSONEncoder` to be quick (an HTML page embeds
// 10,000 nodes with their code and output); `ReportSchema.encoder` stays the encoder of
// the JSON report, whose keys are sorted and indented.
//
// A value that asks its encoder for a keyed container twice gets the same object both times, so a
// type can encode two parts flat (`NodeView`, as `JSONEncoder` allows too).
//
// Speed: a page writes half a million values, so the path of one value is kept short. A scalar,
// a date, an optional of one (`Optional`, `Nullable`) and an array of them are written by the value
// itself (`StreamValue`: one conformance check, no container; the commonest known by their
// metatype, and the types that are not remembered by the writer, so neither pays the cast); the
// open containers are a stack of plain structs (no object per value); a coding path is only built
// if someone asks for it.

extension JSONWriter {
    /// Appends `value`'s JSON.
    mutating func encode<Value: Encodable>(_ value: Value) throws {
        let types = streamTypes ?? StreamTypes()
        streamTypes = types
        let sink = Sink(self, types: types)
        self = JSONWriter(scriptSafe: scriptSafe)  // the sink holds the only reference to the bytes meanwhile
        defer { self = sink.writer }
        try sink.encode(value, key: nil)
    }
}

/// What the encoder learned about value types, kept by a writer from one encoding to the next:
/// the types that are not `StreamValue`s, so their conformance cast (a lookup in the runtime's
/// tables, which fails) is tried once per type instead of once per value.
final class StreamTypes {
    fileprivate var plain: Set<ObjectIdentifier> = []
}

/// The shared state of one encoding: the bytes, and the containers still open, innermost last.
/// A container is known by its depth in `open` (its level).
private final class Sink {
    // One encoding runs on one thread, with no overlapping access: spare the runtime checks.
    @exclusivity(unchecked) var writer: JSONWriter
    @exclusivity(unchecked) var open: [Frame] = []
    let types: StreamTypes

    init(_ writer: JSONWriter, types: StreamTypes) {
        self.writer = writer
        self.types = types
    }

    /// One value being written: what it opened (an object, an array or nothing yet), how many
    /// members it has written, and its key in its parent (for `codingPath` only).
    struct Frame {
        enum Kind { case none, object, array, single }
        var kind = Kind.none
        var count = 0
        var key: (any CodingKey)?
    }

    /// The keys from the top down to the container at `level`.
    func codingPath(to level: Int) -> [any CodingKey] {
        open[...min(level, open.count - 1)].compactMap(\.key)
    }

    /// Closes the containers opened after the one at `level` (nested containers a value left
    /// open), so the next write goes into it.
    @inline(__always)
    func focus(_ level: Int) {
        while open.count > level + 1 { close(open.removeLast()) }
    }

    func close(_ frame: Frame) {
        switch frame.kind {
        case .object: writer.raw("}")
        case .array: writer.raw("]")
        case .none: writer.raw("{}")  // encoded nothing, as JSONEncoder writes it
        case .single: break
        }
    }

    /// Writes `value`: itself when it is a `StreamValue`, else in a container of its own, closed
    /// when its `encode(to:)` returns.
    func encode<Value: Encodable>(_ value: Value, key: @autoclosure () -> (any CodingKey)?) throws {
        if writeKnown(value) { return }
        let type = ObjectIdentifier(Value.self)
        if !types.plain.contains(type) {
            if let streamed = value as? any StreamValue {
                if streamed.write(to: self) { return }
            } else {
                types.plain.insert(type)
            }
        }
        let level = open.count
        open.append(Frame(key: key()))
        try value.encode(to: StreamEncoder(sink: self, level: level))
        focus(level)
        close(open.removeLast())
    }

    /// Writes `value` when it is of one of the commonest generic types of a report (told by a
    /// comparison of metatypes, cheaper than the conformance cast); false when not.
    @inline(__always)
    private func writeKnown<Value>(_ value: Value) -> Bool {
        writeIf(value, is: Nullable<String>.self) || writeIf(value, is: Nullable<Double>.self)
            || writeIf(value, is: Nullable<Int>.self) || writeIf(value, is: Date.self)
            || writeIf(value, is: Nullable<Int32>.self) || writeIf(value, is: Nullable<Bool>.self)
            || writeIf(value, is: [String].self)
    }

    @inline(__always)
    private func writeIf<Value, Known: StreamValue>(_ value: Value, is known: Known.Type) -> Bool {
        guard Value.self == known else { return false }
        return unsafeBitCast(value, to: known).write(to: self)
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

    /// Opens the container at `level` as `kind` unless it already is (a second keyed container:
    /// the same object).
    func begin(_ level: Int, as kind: Frame.Kind) {
        focus(level)
        guard open[level].kind != kind else { return }
        open[level].kind = kind
        switch kind {
        case .object: writer.raw("{")
        case .array: writer.raw("[")
        case .none, .single: break
        }
    }

    /// The separator and the key before a member of the object at `level`.
    @inline(__always)
    func member<Key: CodingKey>(of level: Int, key: Key) {
        element(of: level)
        writer.string(key.stringValue)
        writer.raw(":")
    }

    /// The separator before an element of the array (or member of the object) at `level`.
    @inline(__always)
    func element(of level: Int) {
        focus(level)
        if open[level].count > 0 { writer.raw(",") }
        open[level].count += 1
    }

    /// A nested container, opened in place of a member (`key`) or an element (nil) of the
    /// container at `level`; returns its level.
    func nested(in level: Int, key: (any CodingKey)?, as kind: Frame.Kind) -> Int {
        if let key { member(of: level, key: key) } else { element(of: level) }
        let index = open[level].count - 1
        open.append(Frame(key: key ?? IndexKey(intValue: index)))
        begin(open.count - 1, as: kind)
        return open.count - 1
    }
}

/// An array element's place in a coding path.
private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// A value the sink writes by itself, without its `encode(to:)`: true when written, false (having
/// written nothing) when it holds something that is not a `StreamValue` itself.
private protocol StreamValue {
    func write(to sink: Sink) -> Bool
}

extension String: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.string(self); return true } }
extension Substring: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.string(self); return true } }
extension Bool: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.bool(self); return true } }
extension Double: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.double(self); return true } }
extension Float: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.double(Double(self)); return true } }
extension Int: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension Int8: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension Int16: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension Int32: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension Int64: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension UInt: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension UInt8: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension UInt16: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension UInt32: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension UInt64: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writer.int(self); return true } }
extension Date: StreamValue { fileprivate func write(to sink: Sink) -> Bool { sink.writeDate(self); return true } }

// An optional is `null` when nil and what it holds otherwise (the `null` that `Nullable` asks for;
// a bare `Optional` nested in an array or encoded alone writes the same). One that holds something
// else (a `Review`, a dictionary) goes through its own `encode(to:)`.
extension Optional: StreamValue where Wrapped: StreamValue {
    fileprivate func write(to sink: Sink) -> Bool {
        guard let value = self else {
            sink.writer.null()
            return true
        }
        return value.write(to: sink)
    }
}

extension Nullable: StreamValue where Value: StreamValue {
    fileprivate func write(to sink: Sink) -> Bool { wrappedValue.write(to: sink) }
}

extension Array: StreamValue where Element: StreamValue {
    fileprivate func write(to sink: Sink) -> Bool {
        sink.writer.raw("[")
        for (index, element) in enumerated() {
            if index > 0 { sink.writer.raw(",") }
            _ = element.write(to: sink)
        }
        sink.writer.raw("]")
        return true
    }
}

private struct StreamEncoder: Encoder {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { sink.codingPath(to: level) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        sink.begin(level, as: .object)
        return KeyedEncodingContainer(KeyedStream<Key>(sink: sink, level: level))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        sink.begin(level, as: .array)
        return UnkeyedStream(sink: sink, level: level)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        sink.begin(level, as: .single)
        return SingleStream(sink: sink, level: level)
    }
}

private struct KeyedStream<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { sink.codingPath(to: level) }

    mutating func encodeNil(forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.null()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        sink.member(of: level, key: key)
        try sink.encode(value, key: key)
    }

    // Scalars, the bulk of a page, straight to the writer: no cast.
    mutating func encode(_ value: String, forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.string(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.double(value)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        sink.member(of: level, key: key)
        sink.writer.bool(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = sink.nested(in: level, key: key, as: .object)
        return KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, level: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedStream(sink: sink, level: sink.nested(in: level, key: key, as: .array))
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(forKey: Key(stringValue: "super")!)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        StreamEncoder(sink: sink, level: sink.nested(in: level, key: key, as: .none))
    }
}

private struct UnkeyedStream: UnkeyedEncodingContainer {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { sink.codingPath(to: level) }
    var count: Int { sink.open.indices.contains(level) ? sink.open[level].count : 0 }

    mutating func encodeNil() throws {
        sink.element(of: level)
        sink.writer.null()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        sink.element(of: level)
        try sink.encode(value, key: IndexKey(intValue: sink.open[level].count - 1))
    }

    mutating func encode(_ value: String) throws {
        sink.element(of: level)
        sink.writer.string(value)
    }

    mutating func encode(_ value: Int) throws {
        sink.element(of: level)
        sink.writer.int(value)
    }

    mutating func encode(_ value: Double) throws {
        sink.element(of: level)
        sink.writer.double(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, level: sink.nested(in: level, key: nil, as: .object)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedStream(sink: sink, level: sink.nested(in: level, key: nil, as: .array))
    }

    mutating func superEncoder() -> any Encoder {
        StreamEncoder(sink: sink, level: sink.nested(in: level, key: nil, as: .none))
    }
}

private struct SingleStream: SingleValueEncodingContainer {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { sink.codingPath(to: level) }

    mutating func encodeNil() throws {
        sink.focus(level)
        sink.writer.null()
    }

    mutating func encode(_ value: String) throws {
        sink.focus(level)
        sink.writer.string(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        sink.focus(level)
        try sink.encode(value, key: nil)
    }
}
