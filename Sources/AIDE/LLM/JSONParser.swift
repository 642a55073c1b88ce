import Foundation

/// Where and why JSON text could not be parsed.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem.
    public var offset: Int
    public var reason: Reason

    /// What was wrong at `offset`.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The text ended inside a value (in an object or array, when it was inside one).
        case unexpectedEnd(in: Container?)
        /// A character that starts no JSON value.
        case unexpectedCharacter(Character)
        /// `t`, `f` or `n` not followed by the rest of `true`, `false` or `null`.
        case invalidLiteral
        /// Objects and arrays nested deeper than the parser's limit.
        case tooDeep(limit: Int)
        /// An object member that does not start with a string.
        case expectedKey
        /// A key not followed by `:`.
        case expectedColon
        /// A member or element not followed by `,` or the container's closing bracket.
        case expectedCommaOrEnd(of: Container)
        /// A raw control character inside a string.
        case controlCharacter
        /// A backslash followed by a character JSON gives no meaning.
        case invalidEscape(Character)
        /// A string with no closing quote.
        case unterminatedString
        /// `\u` followed by fewer than four characters.
        case truncatedUnicodeEscape
        /// `\u` followed by something other than four hex digits.
        case invalidUnicodeEscape
        /// A number that is not one (`-`, `1.`, `1e`), with the missing part when known.
        case invalidNumber(missing: NumberPart?)
        /// Text after the one top-level value.
        case trailingText

        /// The kind of container a problem is in.
        public enum Container: Sendable, Hashable {
            case object, array
        }

        /// The part a malformed number lacks.
        public enum NumberPart: Sendable, Hashable {
            case fractionDigits, exponentDigits
        }

        public var description: String {
            switch self {
            case .unexpectedEnd(nil): return "unexpected end of input"
            case .unexpectedEnd(.object?): return "unexpected end of input in an object"
            case .unexpectedEnd(.array?): return "unexpected end of input in an array"
            case .unexpectedCharacter(let character): return "unexpected character '\(character)'"
            case .invalidLiteral: return "invalid literal"
            case .tooDeep(let limit): return "nesting deeper than \(limit)"
            case .expectedKey: return "expected a string key"
            case .expectedColon: return "expected ':'"
            case .expectedCommaOrEnd(.object): return "expected ',' or '}'"
            case .expectedCommaOrEnd(.array): return "expected ',' or ']'"
            case .controlCharacter: return "control character in a string"
            case .invalidEscape(let character): return "invalid escape '\\\(character)'"
            case .unterminatedString: return "unterminated string"
            case .truncatedUnicodeEscape: return "truncated \\u escape"
            case .invalidUnicodeEscape: return "invalid \\u escape"
            case .invalidNumber(nil): return "invalid number"
            case .invalidNumber(.fractionDigits?): return "invalid number: no digits after '.'"
            case .invalidNumber(.exponentDigits?): return "invalid number: no exponent digits"
            case .trailingText: return "unexpected text after the JSON value"
            }
        }
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser straight into `JSONValue`.
///
/// Every provider response and every stream event goes through here; decoding the enum through
/// `JSONDecoder` costs one thrown error per case it tries, this costs one pass over the bytes.
struct JSONParser {
    /// Nesting deeper than this is refused rather than risking the stack.
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.position == parser.bytes.count else { throw parser.error(.trailingText) }
            return value
        }
    }

    private func error(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(offset: position, reason: reason)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard position < bytes.count else { throw error(.unexpectedEnd(in: nil)) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error(.unexpectedCharacter(Character(UnicodeScalar(bytes[position]))))
        }
    }

    private mutating func expect(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error(.unexpectedEnd(in: nil)) }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw error(.invalidLiteral) }
        position += count
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error(.tooDeep(limit: Self.maxDepth)) }
        position += 1
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error(.expectedKey)
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error(.expectedColon) }
            position += 1
            skipWhitespace()
            object[key] = try parseValue(depth: depth)
            skipWhitespace()
            guard position < bytes.count else { throw error(.unexpectedEnd(in: .object)) }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(object)
            } else {
                throw error(.expectedCommaOrEnd(of: .object))
            }
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error(.tooDeep(limit: Self.maxDepth)) }
        position += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw error(.unexpectedEnd(in: .array)) }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(array)
            } else {
                throw error(.expectedCommaOrEnd(of: .array))
            }
        }
    }

    private mutating func parseString() throws -> String {
        position += 1
        let start = position
        // Fast path: no escapes, the bytes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error(.controlCharacter) }
            position += 1
        }
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { break }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by \u and a low one; a lone one becomes U+FFFD.
                        if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        {
                            position += 2
                            let low = try parseHex4()
                            scalar = (0xDC00...0xDFFF).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    buffer.append(contentsOf: String(Character(UnicodeScalar(scalar) ?? "\u{FFFD}")).utf8)
                default:
                    position -= 1
                    throw error(.invalidEscape(Character(UnicodeScalar(escape))))
                }
            default:
                if byte < 0x20 { throw error(.controlCharacter) }
                buffer.append(byte)
                position += 1
            }
        }
        throw error(.unterminatedString)
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw error(.truncatedUnicodeEscape) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidUnicodeEscape)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var integral = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
            throw error(.invalidNumber(missing: nil))
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            let digits = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > digits else { throw error(.invalidNumber(missing: .fractionDigits)) }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            let digits = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > digits else { throw error(.invalidNumber(missing: .exponentDigits)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if integral, let value = Int(text) { return .int(value) }
        guard let value = Double(text) else { throw JSONParseError(offset: start, reason: .invalidNumber(missing: nil)) }
        return .double(value)
    }
}
