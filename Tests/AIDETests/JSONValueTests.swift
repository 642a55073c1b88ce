@testable import AIDE
import Foundation
import Testing

struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue.parse(
            #" { "a": [1, -2, 3.5, -0.25e2, 1E3, true, false, null], "b": {"c": "d"}, "e": "", "f": [] , "g": {} } "#)
        #expect(value["a"] == [1, -2, 3.5, -25.0, 1000.0, true, false, .null])
        #expect(value["b"]?["c"] == "d")
        #expect(value["e"] == "")
        #expect(value["f"] == [])
        #expect(value["g"] == [:])
        #expect(value["a"]?[0]?.intValue == 1)
        #expect(value["a"]?[2]?.intValue == nil)
        #expect(value["a"]?[4]?.intValue == 1000, "a whole double reads as an int")
    }

    @Test func decodesEscapesAndUnicode() throws {
        let text = #"["\"\\\/\b\f\n\r\t", "\u00e9\u4e2d", "\ud83d\ude00", "\ud83d", "héllo 😀 中"]"#
        let value = try JSONValue.parse(text)
        #expect(value[0] == "\"\\/\u{8}\u{C}\n\r\t")
        #expect(value[1] == "é中")
        #expect(value[2] == "😀", "a surrogate pair is one scalar")
        #expect(value[3] == "\u{FFFD}", "a lone surrogate is replaced, not a crash")
        #expect(value[4] == "héllo 😀 中")
    }

    @Test func integersTooLargeForIntBecomeDoubles() throws {
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int.max))
        #expect(try JSONValue.parse("92233720368547758080") == .double(92233720368547758080))
    }

    @Test(arguments: [
        ("", JSONParseError.Reason.unexpectedEnd(in: nil), 0, "unexpected end of input"),
        ("{", .expectedKey, 1, "expected a string key"),
        ("{\"a\" 1}", .expectedColon, 5, "expected ':'"),
        ("{\"a\": 1", .unexpectedEnd(in: .object), 7, "unexpected end of input in an object"),
        ("{\"a\": 1]", .expectedCommaOrEnd(of: .object), 7, "expected ',' or '}'"),
        ("[1 2]", .expectedCommaOrEnd(of: .array), 3, "expected ',' or ']'"),
        ("[1", .unexpectedEnd(in: .array), 2, "unexpected end of input in an array"),
        ("[1,]", .unexpectedCharacter("]"), 3, "unexpected character ']'"),
        ("\"abc", .unterminatedString, 4, "unterminated string"),
        ("\"a\u{01}\"", .controlCharacter, 2, "control character in a string"),
        ("01", .trailingText, 1, "unexpected text after the JSON value"),
        ("1.", .invalidNumber(missing: .fractionDigits), 2, "invalid number: no digits after '.'"),
        ("1e", .invalidNumber(missing: .exponentDigits), 2, "invalid number: no exponent digits"),
        ("-", .invalidNumber(missing: nil), 1, "invalid number"),
        ("tru", .unexpectedEnd(in: nil), 0, "unexpected end of input"),
        ("nul!", .invalidLiteral, 0, "invalid literal"),
        ("\"\\x\"", .invalidEscape("x"), 2, "invalid escape '\\x'"),
        ("\"\\u12\"", .truncatedUnicodeEscape, 3, "truncated \\u escape"),
        ("\"\\u12zz\"", .invalidUnicodeEscape, 5, "invalid \\u escape"),
        ("{\"a\": 1} x", .trailingText, 9, "unexpected text after the JSON value"),
    ])
    func rejectsInvalidJSONWithAReasonAndItsPlace(text: String, reason: JSONParseError.Reason, offset: Int, words: String) {
        #expect(throws: JSONParseError(offset: offset, reason: reason)) { try JSONValue.parse(text) }
        #expect(JSONParseError(offset: offset, reason: reason).description == "\(words) at byte \(offset)")
    }

    @Test func refusesNestingDeeperThanTheLimitInsteadOfCrashing() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError(offset: JSONParser.maxDepth, reason: .tooDeep(limit: JSONParser.maxDepth))) {
            try JSONValue.parse(deep)
        }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
    }

    @Test func numbersCompareByValue() {
        #expect(JSONValue.int(3) == .double(3.0))
        #expect(JSONValue.int(3).hashValue == JSONValue.double(3.0).hashValue)
        #expect(JSONValue.int(3) != .double(3.5))
        #expect(JSONValue.int(3) != .string("3"))
        #expect(Set<JSONValue>([.int(1), .double(1), .double(2)]).count == 2)
    }

    @Test func serializationIsCompactAndSorted() {
        let value: JSONValue = ["b": 1, "a": ["x": "y/z", "n": .null], "c": [true, 2.5]]
        #expect(value.jsonText == #"{"a":{"n":null,"x":"y/z"},"b":1,"c":[true,2.5]}"#)
    }

    @Test func roundTripsGeneratedValues() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let value = randomValue(depth: 0, using: &generator)
            let reparsed = try JSONValue.parse(value.serialized())
            #expect(reparsed == value)
            #expect(reparsed.hashValue == value.hashValue)
            // Foundation's parser agrees on what we print.
            _ = try JSONSerialization.jsonObject(with: value.serialized(), options: [.fragmentsAllowed])
        }
    }

    private func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let pick = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch pick {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int.random(in: -1_000_000...1_000_000, using: &generator))
        case 3: return .double(Double(Int.random(in: -10_000...10_000, using: &generator)) / 64)
        case 4:
            let alphabet = Array("aé中😀\"\\/\n\t\u{1}xyz ")
            return .string(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }))
        case 5:
            return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in
                randomValue(depth: depth + 1, using: &generator)
            })
        default:
            var object: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                object["k\(index)\(Int.random(in: 0...9, using: &generator))"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }
}

/// A small deterministic generator (SplitMix64), so generated cases repeat run to run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
