import Foundation
import Synchronization

/// Anthropic's prompt cache, kept by a loopback server, by the rules Anthropic documents: a request's
/// prefix is read in the order tools, system blocks, message blocks; each `cache_control` breakpoint
/// looks for a prefix an earlier request wrote at its own block end or at one of the 20 block ends
/// before it, and the longest found is read at the cache rate; the request's last breakpoint is
/// written from there. Tokens are counted as four bytes each, and a prefix below `minimumTokens` is
/// not cached. `tool_choice` keys only what the messages hold (Anthropic keeps it out of the tools
/// and system cache), so a call that forces a tool and one that sends the same tools with
/// `tool_choice: none` share the tools and system. A breakpoint with `"ttl": "1h"` writes with the
/// one-hour lifetime, and the usage splits its writes by lifetime (`cache_creation`) as Anthropic's does.
public final class AnthropicPromptCache: Sendable {
    private let written = Mutex<Set<String>>([])
    public let minimumTokens: Int
    /// How many block ends before a breakpoint are looked at for an earlier write.
    public static let lookback = 20

    public init(minimumTokens: Int = 1024) {
        self.minimumTokens = minimumTokens
    }

    /// The usage Anthropic would report for a Messages request body (`output` tokens given).
    public func usage(for body: [String: Any], output: Int) -> AnthropicFixtures.Usage {
        // Every block end's prefix, and the breakpoint (if any) that marks it.
        var text = ""
        var ends: [(prefix: String, control: [String: Any]?)] = []
        for tool in body["tools"] as? [[String: Any]] ?? [] {
            text += Self.canonical(tool.filter { $0.key != "cache_control" })
            ends.append((text, tool["cache_control"] as? [String: Any]))
        }
        if let system = body["system"] as? String {
            text += system
            ends.append((text, nil))
        } else {
            for block in body["system"] as? [[String: Any]] ?? [] {
                text += block["text"] as? String ?? ""
                ends.append((text, block["cache_control"] as? [String: Any]))
            }
        }
        text += Self.canonical(["tool_choice": body["tool_choice"] ?? NSNull()])
        for message in body["messages"] as? [[String: Any]] ?? [] {
            if let content = message["content"] as? String {
                text += content
                ends.append((text, nil))
            } else {
                for block in message["content"] as? [[String: Any]] ?? [] {
                    text += block["text"] as? String ?? Self.canonical(block)
                    ends.append((text, block["cache_control"] as? [String: Any]))
                }
            }
        }
        let total = Self.tokens(text)
        let marks = ends.indices.filter { ends[$0].control != nil && Self.tokens(ends[$0].prefix) >= minimumTokens }
        guard let last = marks.last else { return AnthropicFixtures.Usage(input: total, output: output) }
        let read = written.withLock { cache in
            var read = 0
            for mark in marks {
                for index in stride(from: mark, to: max(-1, mark - Self.lookback), by: -1) where cache.contains(ends[index].prefix) {
                    read = max(read, Self.tokens(ends[index].prefix))
                    break
                }
            }
            for mark in marks { cache.insert(ends[mark].prefix) }
            return read
        }
        let write = Self.tokens(ends[last].prefix) - read
        var usage = AnthropicFixtures.Usage(input: total - read - write, output: output, cacheCreation: write, cacheRead: read)
        if ends[last].control?["ttl"] as? String == "1h" { usage.cacheCreation1h = write }
        return usage
    }

    static func tokens(_ text: String) -> Int { text.utf8.count / 4 }

    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
