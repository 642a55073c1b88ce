import Foundation
import Testing

@testable import AIDE

/// The one node view every report derives from, and the streaming encoder that writes it into the
/// HTML page as `JSONEncoder` would.
struct NodeViewTests {
    static let created = Date(timeIntervalSince1970: 1_780_000_000)

    static let node = Node(
        id: "abcd1234", parentID: "0000beef", step: 3, stage: .debug, plan: "Fix the </script> \"key\".",
        code: "print('é\u{2028}')\n",
        execution: ExecutionResult(
            output: "Traceback …\nKeyError: 'x'\n", outputBytes: 30, exitCode: 1, duration: 2.25,
            exceptionType: "KeyError", traceback: "Traceback …\nKeyError: 'x'"),
        review: Review(isBug: true, summary: "Key missing.", metric: .nan), metric: nil, metricSource: nil,
        testScore: nil, isBuggy: true, bugReasons: ["raised KeyError"], createdAt: created,
        finishedAt: created.addingTimeInterval(4))

    static let calls = [
        LLMCallRecord(
            runID: "r", nodeID: "abcd1234", step: 3, purpose: .debug, model: "gpt-4o", provider: .openai,
            latency: 1.5, lastAttemptLatency: 1.5, inputTokens: 10, outputTokens: 5, costUSD: .infinity, attempts: 2,
            createdAt: created)
    ]

    static func object(_ bytes: some Sequence<UInt8>) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func viewEncodesFlatAndReadsBack() throws {
        let view = NodeView(Self.node, calls: Self.calls, onBestPath: false)
        let encoded = try ReportSchema.encoder.encode(view)
        let object = try Self.object(encoded)
        // Row and body keys side by side, every documented key present (null when absent).
        #expect(object["id"] as? String == "abcd1234" && object["plan"] as? String == "Fix the </script> \"key\".")
        #expect(object["metric"] is NSNull && object["exit_code"] as? Int == 1 && object["bug_reasons"] as? [String] == ["raised KeyError"])
        #expect((object["review"] as? NSDictionary)?["metric"] is NSNull)
        #expect(((object["calls"] as? [NSDictionary])?.first)?["cost_usd"] is NSNull)
        #expect(try ReportSchema.decoder.decode(NodeView.self, from: encoded) == view)
    }

    @Test func streamingEncoderWritesWhatJSONEncoderWrites() throws {
        let view = NodeView(Self.node, calls: Self.calls, onBestPath: true)
        var writer = JSONWriter(scriptSafe: true)
        try writer.encode(view)
        let text = writer.text
        // Script-safe: no `<` and no raw line separator in the bytes.
        #expect(!text.contains("<") && !text.contains("\u{2028}"))
        #expect(try Self.object(writer.bytes) == Self.object(try ReportSchema.encoder.encode(view)))
        #expect(text.contains(#""created_at":"2026-05-28T20:26:40Z""#))
        // A writer remembers the types it met (which are not written by themselves): a second
        // view, of other values, through the same writer reads as its own JSONEncoder encoding.
        var other = Self.node
        other.execution = nil
        other.review = nil
        other.metric = 0.25
        let second = NodeView(other, calls: Self.calls + Self.calls, onBestPath: false)
        let before = writer.count
        try writer.encode(second)
        #expect(try Self.object(writer.bytes[before...]) == Self.object(try ReportSchema.encoder.encode(second)))
    }

    /// Nested and unkeyed containers left open by a value are closed before its next member.
    @Test func streamingEncoderClosesNestedContainers() throws {
        struct Nested: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: AnyKey.self)
                var inner = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("a"))
                try inner.encode(1, forKey: AnyKey("x"))
                var list = container.nestedUnkeyedContainer(forKey: AnyKey("b"))
                try list.encode("y")
                var deeper = list.nestedContainer(keyedBy: AnyKey.self)
                try deeper.encodeNil(forKey: AnyKey("z"))
                try container.encode([Double.nan, 0.5], forKey: AnyKey("c"))
                try container.encode(Optional<Int>.none, forKey: AnyKey("d"))
                // Optionals inside a collection, dates, and a non-scalar behind an optional.
                try container.encode([Optional<Int>.none, 2], forKey: AnyKey("e"))
                try container.encode([NodeViewTests.created, NodeViewTests.created], forKey: AnyKey("f"))
                try container.encode(Optional(["k": Optional<String>.none]), forKey: AnyKey("g"))
            }
        }
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var writer = JSONWriter()
        try writer.encode([Nested(), Nested()])
        let one = #"{"a":{"x":1},"b":["y",{"z":null}],"c":[null,0.5],"d":null,"e":[null,2],"#
            + #""f":["2026-05-28T20:26:40Z","2026-05-28T20:26:40Z"],"g":{"k":null}}"#
        #expect(writer.text == "[\(one),\(one)]")
    }

    /// `aide report --node` JSON: the envelope beside the view, read back whole.
    @Test func nodeDetailRoundTrips() throws {
        let detail = try ReportSchema.decoder.decode(
            NodeDetail.self,
            from: try ReportSchema.encoder.encode(
                NodeDetailFixture.make(NodeView(Self.node, calls: Self.calls, onBestPath: false))))
        #expect(detail.runID == "r" && detail.children == ["c1"] && detail.id == "abcd1234" && detail.plan.hasPrefix("Fix"))
        #expect(detail.calls.first?.attempts == 2)
    }
}

/// A `NodeDetail` without a store (its init from a run is internal to the report).
enum NodeDetailFixture {
    static func make(_ view: NodeView) throws -> NodeDetail {
        let json = #"{"schema":"aide.report/1","kind":"node","run_id":"r","children":["c1"],"is_best":false}"#
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let viewObject = try #require(
            try JSONSerialization.jsonObject(with: try ReportSchema.encoder.encode(view)) as? [String: Any])
        object.merge(viewObject) { a, _ in a }
        return try ReportSchema.decoder.decode(NodeDetail.self, from: try JSONSerialization.data(withJSONObject: object))
    }
}
