import Foundation

/// Writes JSON straight into bytes, for documents too large for `JSONEncoder` to be quick (an
/// HTML report embeds megabytes of code and output). The caller writes the punctuation between
/// values (`raw`); strings and numbers are escaped and formatted here.
///
/// With `scriptSafe`, the text can sit inside an HTML `<script>` element: `<` is written
/// `\u003c` (so no `</script` or `<!--` can appear) and the JavaScript line separators U+2028
/// and U+2029 as escapes; `JSON.parse` reads back the same strings.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    let scriptSafe: Bool
    /// What `encode` learned about the types it wrote, for the next `encode`.
    var streamTypes: StreamTypes?

    init(scriptSafe: Bool = false, capacity: Int = 0) {
        self.scriptSafe = scriptSafe
        bytes.reserveCapacity(capacity)
    }

    /// Punctuation, a key's quotes or a whole piece of JSON that needs no escaping.
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// JSON written elsewhere, as it is (the caller makes it script-safe when this writer is).
    mutating func raw(json: some Collection<UInt8>) {
        bytes.append(contentsOf: json)
    }

    /// `"key":`, for keys that need no escaping (the writer's own).
    mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func null() { raw("null") }

    mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }

    mutating func int<Value: BinaryInteger>(_ value: Value) {
        // Digits written from the end of a 24-byte scratch (any 64-bit integer fits), no string.
        var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { digits in
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: digits[start...]))
        }
    }

    /// A finite number; NaN and infinities, which JSON cannot hold, are written `null`.
    mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string($0) }
    }

    mutating func string(_ text: Substring) {
        var text = text
        text.withUTF8 { string($0) }
    }

    /// A string from its UTF-8 bytes. Runs of bytes that need no escape are copied whole.
    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        let count = utf8.count
        var start = 0
        var index = 0
        let base = UnsafeRawPointer(utf8.baseAddress)
        while index < count {
            // Most text needs no escape: skip eight plain bytes at a time.
            if let base, index + 8 <= count,
                !Self.mayNeedEscape(base.loadUnaligned(fromByteOffset: index, as: UInt64.self), scriptSafe)
            {
                index += 8
                continue
            }
            let byte = utf8[index]
            if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "<"), byte != 0xE2 {
                index += 1
                continue
            }
            let escape: StaticString?
            var width = 1
            switch byte {
            case UInt8(ascii: "\""): escape = "\\\""
            case UInt8(ascii: "\\"): escape = "\\\\"
            case UInt8(ascii: "\n"): escape = "\\n"
            case UInt8(ascii: "\r"): escape = "\\r"
            case UInt8(ascii: "\t"): escape = "\\t"
            case 0..<0x20: escape = ""
            case UInt8(ascii: "<") where scriptSafe: escape = "\\u003c"
            case 0xE2 where scriptSafe && index + 2 < count && utf8[index + 1] == 0x80
                && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                escape = utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                width = 3
            default: escape = nil
            }
            guard let escape else {
                index += 1
                continue
            }
            if index > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index])) }
            if escape.utf8CodeUnitCount == 0 {
                // Other control characters: \u00XX.
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            } else {
                raw(escape)
            }
            index += width
            start = index
        }
        if count > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether any of eight bytes is a control character, `"` or `\\`, or (script-safe) `<` or
    /// 0xE2, the lead byte of U+2028 and U+2029 (bit tricks from "Bit Twiddling Hacks").
    @inline(__always)
    private static func mayNeedEscape(_ word: UInt64, _ scriptSafe: Bool) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        // Bytes below 0x20 (may flag a few more; the byte-by-byte test below is exact).
        var found = (word &- ones &* 0x20) & ~word & highs
        found |= hasZero(word ^ (ones &* 0x22)) | hasZero(word ^ (ones &* 0x5C))
        if scriptSafe { found |= hasZero(word ^ (ones &* 0x3C)) | hasZero(word ^ (ones &* 0xE2)) }
        return found != 0
    }

    /// Bytes written and not yet handed on by `flush`.
    var count: Int { bytes.count }

    /// Hands the bytes written so far to `output` and forgets them, keeping the buffer: a large
    /// document written out in parts.
    mutating func flush(to output: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes(output)
        bytes.removeAll(keepingCapacity: true)
    }

    /// The bytes as a string (the writer only ever writes valid UTF-8 from valid UTF-8).
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
