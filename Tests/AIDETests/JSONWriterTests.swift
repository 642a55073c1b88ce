import Foundation
import Testing

@testable import AIDE

/// `JSONWriter`, the byte writer behind the HTML report's embedded data: what it writes parses
/// back to the same strings and numbers, and script-safe text cannot end a `<script>` element.
struct JSONWriterTests {
    static let tricky: [String] = [
        "", "plain ascii text longer than eight bytes", "\"quoted\" and \\backslash\\", "tab\there\nnew\r\n",
        "\u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{1F}\u{7F}", "</script><script>alert(1)</script>", "<!-- comment -->",
        "line\u{2028}separator\u{2029}paragraph", "ünïcödé — 🚀 emoji, 中文, \u{E000}", "€€€€€€€€<", "12345678\"",
        "abcdefg\\", String(repeating: "0123456789abcdef", count: 100) + "<",
    ]

    static func parse(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    @Test(arguments: [false, true])
    func stringsReadBackTheSame(scriptSafe: Bool) throws {
        var random = SeededRandom(seed: 7)
        let alphabet = Array("ab<>\"\\\n\t\u{1}é€🚀\u{2028}\u{2029} /")
        let generated = (0..<200).map { _ in
            String((0..<Int.random(in: 0..<40, using: &random)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
        }
        for text in Self.tricky + generated {
            var json = JSONWriter(scriptSafe: scriptSafe)
            json.string(text)
            #expect(try Self.parse(json.bytes) as? String == text, "\(text.debugDescription)")
            if scriptSafe {
                #expect(!json.bytes.contains(UInt8(ascii: "<")))
                #expect(!json.text.contains("\u{2028}") && !json.text.contains("\u{2029}"))
            }
        }
    }

    /// Integers are written digit by digit (no string): the extremes and zero as `String` writes them.
    @Test func integersAtTheirExtremes() {
        var json = JSONWriter()
        json.int(Int64.min)
        json.raw(",")
        json.int(UInt64.max)
        json.raw(",")
        json.int(0)
        json.raw(",")
        json.int(Int8(-7))
        #expect(json.text == "\(Int64.min),\(UInt64.max),0,-7")
    }

    @Test func numbersAndPunctuation() throws {
        var json = JSONWriter()
        json.raw("[")
        for (index, value) in [0, -0.0, 0.1, 1e-7, 123_456_789.25, -3, 1e300, .nan, .infinity].enumerated() {
            if index > 0 { json.raw(",") }
            json.double(value)
        }
        json.raw(",")
        json.int(Int32.min)
        json.raw(",")
        json.bool(true)
        json.raw(",")
        json.null()
        json.raw(",{")
        json.key("k")
        json.string(Substring("value"))
        json.raw("}]")
        let array = try #require(try Self.parse(json.bytes) as? [Any])
        let numbers = array.prefix(7).compactMap { ($0 as? NSNumber)?.doubleValue }
        #expect(numbers == [0, 0, 0.1, 1e-7, 123_456_789.25, -3, 1e300])
        #expect(array[7] is NSNull && array[8] is NSNull)
        #expect((array[9] as? NSNumber)?.intValue == Int(Int32.min))
        #expect(array[10] as? Bool == true && array[11] is NSNull)
        #expect((array[12] as? [String: String]) == ["k": "value"])
    }
}
